package i18n
var catalog = map[string]msg{}
