package i18n

// catalog holds every message of the reports. Every text is a
// fmt.Sprintf format: a literal percent sign is %%. Both languages of a
// message take the same arguments (the test checks the verbs).
var catalog = map[string]msg{
	// Document.
	"doc.title":    {en: "Monthly sustainability report", da: "Månedlig bæredygtighedsrapport"},
	"doc.subtitle": {en: "Energy, CO₂e and PUE of the IT infrastructure · sites: %s", da: "Energi, CO₂e og PUE for it-infrastrukturen · lokationer: %s"},
	"doc.footer":   {en: "ecometer · produced %s · page %d of {nb}", da: "ecometer · dannet %s · side %d af {nb}"},

	// 1 Summary.
	"summary.sub":              {en: "Sites: %s. Produced %s from metered data.", da: "Lokationer: %s. Dannet %s ud fra målte data."},
	"summary.incomplete.title": {en: "This month is incomplete", da: "Måneden er ufuldstændig"},
	"summary.incomplete": {
		en: "Metering covers less of the month than the %[2]s needed for complete figures at: %[1]s. The figures in this report count only what was metered, so the real consumption and emissions were higher. Section 9 lists the devices that were not read.",
		da: "Målingerne dækker mindre af måneden end de %[2]s, der kræves for fuldstændige tal, på: %[1]s. Tallene i rapporten medregner kun det målte, så det reelle forbrug og udledningen var højere. Afsnit 9 viser de enheder, der ikke blev aflæst.",
	},
	"summary.energy":           {en: "Electricity used", da: "Elforbrug"},
	"summary.location":         {en: "CO₂e, location-based", da: "CO₂e, lokationsbaseret"},
	"summary.market":           {en: "CO₂e, market-based", da: "CO₂e, markedsbaseret"},
	"summary.pue":              {en: "PUE (energy efficiency)", da: "PUE (energieffektivitet)"},
	"change.vs":                {en: "%s against %s", da: "%s i forhold til %s"},
	"change.none":              {en: "no comparison: %s has no metered data", da: "ingen sammenligning: %s har ingen målte data"},
	"summary.market.none":      {en: "not configured", da: "ikke opsat"},
	"summary.market.none.note": {en: "no contractual instruments (guarantees of origin) in the configuration", da: "ingen aftaleinstrumenter (oprindelsesgarantier) i konfigurationen"},
	"summary.market.partial":   {en: "covers %d of %d sites (the others have no contractual instruments)", da: "dækker %d af %d lokationer (de øvrige har ingen aftaleinstrumenter)"},
	"summary.pue.none":         {en: "no PUE: neither a facility meter nor an assumed value", da: "ingen PUE: hverken bygningsmåler eller antaget værdi"},
	"summary.pue.measured":     {en: "measured: facility energy ÷ IT energy", da: "målt: bygningens energi ÷ it-energi"},
	"summary.pue.persite":      {en: "per site", da: "pr. lokation"},
	"pue.measured.short":       {en: "measured", da: "målt"},
	"pue.assumed.short":        {en: "assumed", da: "antaget"},
	"pue.assumed.mark":         {en: "(assumed)", da: "(antaget)"},
	"summary.words": {
		en: "In %[1]s the sites used %[2]s of electricity, which caused %[3]s (location-based, at a consumption-weighted grid intensity of %[4]s).",
		da: "I %[1]s brugte lokationerne %[2]s el, som medførte %[3]s (lokationsbaseret, ved en forbrugsvægtet intensitet i elnettet på %[4]s).",
	},
	"summary.words.prev": {en: "Energy use changed by %s against %s.", da: "Energiforbruget ændrede sig med %s i forhold til %s."},
	"summary.words.year": {en: "Against %[2]s the change is %[1]s.", da: "I forhold til %[2]s er ændringen %[1]s."},
	"summary.scope2": {
		en: "Location-based: each hour's electricity use times the grid's CO₂ intensity in that hour (GHG Protocol, Scope 2). Market-based: the same electricity valued by the contracts bought for it (guarantees of origin at 0 g, the rest at the residual mix). Both are shown side by side; they are never added or netted.",
		da: "Lokationsbaseret: hver times elforbrug gange elnettets CO₂-intensitet i samme time (GHG-protokollen, scope 2). Markedsbaseret: samme elforbrug vurderet efter de indkøbte aftaler (oprindelsesgarantier med 0 g, resten med restmiksen). De to vises side om side og lægges aldrig sammen eller modregnes.",
	},
	"table.change":         {en: "Change", da: "Ændring"},
	"table.energy":         {en: "Energy", da: "Energi"},
	"table.location":       {en: "Location-based", da: "Lokationsbaseret"},
	"table.market":         {en: "Market-based", da: "Markedsbaseret"},
	"table.site":           {en: "Site", da: "Lokation"},
	"table.coverage":       {en: "Coverage", da: "Dækning"},
	"table.coverage.low":   {en: "Lowest coverage", da: "Laveste dækning"},
	"table.group":          {en: "Group", da: "Gruppe"},
	"table.losses":         {en: "Of which losses/unmetered (kWh)", da: "Heraf tab/umålt (kWh)"},
	"table.device":         {en: "Device", da: "Enhed"},
	"table.meter":          {en: "Meter", da: "Måler"},
	"table.level":          {en: "Level", da: "Niveau"},
	"table.measured":       {en: "Measured (kWh)", da: "Målt (kWh)"},
	"table.attributed":     {en: "In meters below (kWh)", da: "I målere under (kWh)"},
	"table.unmetered":      {en: "Losses/unmetered (kWh)", da: "Tab/umålt (kWh)"},
	"level.it":             {en: "IT", da: "it"},
	"level.facility":       {en: "facility", da: "bygning"},
	"summary.target.title": {en: "Progress towards the target", da: "Fremdrift mod målet"},
	"summary.target.nobaseline": {
		en: "No position against the target: the emissions of the baseline year %d are not known (neither in the data nor in the configuration).",
		da: "Ingen placering i forhold til målet: udledningen i basisåret %d kendes ikke (hverken i data eller i konfigurationen).",
	},
	"summary.target.ahead": {
		en: "From %[1]s to %[2]s the sites emitted at a rate of %[3]s a year. The path to %[7]s less by %[8]d than in %[9]d allows %[5]s in %[4]d: the sites are %[6]s below the path, on track.",
		da: "Fra %[1]s til %[2]s udledte lokationerne i et tempo svarende til %[3]s om året. Stien mod %[7]s mindre i %[8]d end i %[9]d tillader %[5]s i %[4]d: lokationerne ligger %[6]s under stien og er på rette vej.",
	},
	"summary.target.behind": {
		en: "From %[1]s to %[2]s the sites emitted at a rate of %[3]s a year. The path to %[7]s less by %[8]d than in %[9]d allows %[5]s in %[4]d: the sites are %[6]s above the path, behind it.",
		da: "Fra %[1]s til %[2]s udledte lokationerne i et tempo svarende til %[3]s om året. Stien mod %[7]s mindre i %[8]d end i %[9]d tillader %[5]s i %[4]d: lokationerne ligger %[6]s over stien og er bagud.",
	},
	"summary.target.noposition": {
		en: "No position against the path this year: a month of the year so far has less than %s metering coverage (see section 9).",
		da: "Ingen placering i forhold til stien i år: en måned i året har under %s målingsdækning (se afsnit 9).",
	},
	"summary.sites": {en: "Per site", da: "Pr. lokation"},
	"summary.estimate": {
		en: "%[1]s has no facility meter: the site as a whole is estimated at %[3]s and %[4]s location-based (IT figures × assumed PUE %[2]s); the table shows IT only.",
		da: "%[1]s har ingen bygningsmåler: hele lokationen anslås til %[3]s og %[4]s lokationsbaseret (it-tal × antaget PUE %[2]s); tabellen viser kun it.",
	},
	"summary.units": {
		en: "kWh: kilowatt-hours of electricity. kg CO₂e: kilograms of CO₂ equivalent. Coverage: the share of the month's hours for which the meters delivered readings.",
		da: "kWh: kilowatttimer el. kg CO₂e: kilogram CO₂-ækvivalenter. Dækning: den andel af månedens timer, hvor målerne leverede aflæsninger.",
	},

	// 2 Target.
	"target.heading": {en: "2. The path to the reduction target", da: "2. Vejen mod reduktionsmålet"},
	"target.nobaseline": {
		en: "The emissions of the baseline year %d are not known, so no path can be drawn. Give target.baseline_kg_co2e in the configuration, or collect the whole baseline year.",
		da: "Udledningen i basisåret %d kendes ikke, så der kan ikke tegnes en sti. Angiv target.baseline_kg_co2e i konfigurationen, eller saml data for hele basisåret.",
	},
	"target.baseline.store":  {en: "derived from the metered data", da: "beregnet ud fra de målte data"},
	"target.baseline.config": {en: "taken from the configuration (%s)", da: "hentet fra konfigurationen (%s)"},
	"target.intro": {
		en: "The target is %s less CO₂e by %d than in %d. The baseline, %s, is %s; the goal is %s a year. The path falls by the same amount every year.",
		da: "Målet er %s mindre CO₂e i %d end i %d. Basisåret, %s, er %s; målet er %s om året. Stien falder lige meget hvert år.",
	},
	"target.chart.title":     {en: "Emissions per year against the path, %d–%d", da: "Udledning pr. år i forhold til stien, %d–%d"},
	"unit.kgyear":            {en: "kg CO₂e per year", da: "kg CO₂e pr. år"},
	"unit.kgmonth":           {en: "kg CO₂e per month", da: "kg CO₂e pr. måned"},
	"target.chart.path":      {en: "reduction path", da: "reduktionssti"},
	"target.chart.projected": {en: "projection for %d", da: "fremskrivning for %d"},
	"target.chart.actual":    {en: "metered, whole year", da: "målt, hele året"},
	"target.chart.partial":   {en: "metered, part of the year", da: "målt, del af året"},
	"target.chart.reading.ahead": {
		en: "Reading: in %[1]d the sites are on course for %[3]s, %[2]s below the path's %[4]s.",
		da: "Aflæsning: i %[1]d er lokationerne på vej mod %[3]s, %[2]s under stiens %[4]s.",
	},
	"target.chart.reading.behind": {
		en: "Reading: in %[1]d the sites are on course for %[3]s, %[2]s above the path's %[4]s.",
		da: "Aflæsning: i %[1]d er lokationerne på vej mod %[3]s, %[2]s over stiens %[4]s.",
	},
	"target.chart.reading.none": {
		en: "Reading: the bars are metered emissions per year; there is no position for %d (see page 1).",
		da: "Aflæsning: søjlerne er målt udledning pr. år; der er ingen placering for %d (se side 1).",
	},
	"target.monthly.title":    {en: "Emissions per month: the last 24 months and the forecast", da: "Udledning pr. måned: de seneste 24 måneder og prognosen"},
	"target.monthly.actual":   {en: "metered", da: "målt"},
	"target.monthly.forecast": {en: "forecast", da: "prognose"},
	"target.chart.band":       {en: "95 %% band", da: "95 %%-interval"},
	"target.monthly.noforecast": {
		en: "Reading: no forecast is shown: only %d complete months (at least 90 %% coverage) end with this month; at least 6 are needed.",
		da: "Aflæsning: der vises ingen prognose: kun %d fuldstændige måneder (mindst 90 %% dækning) slutter med denne måned; der kræves mindst 6.",
	},
	"target.monthly.notgood": {
		en: "Reading: no forecast is shown: the fitted models do not meet ASHRAE Guideline 14 (table below), so a forecast would not be trustworthy.",
		da: "Aflæsning: der vises ingen prognose: de tilpassede modeller opfylder ikke ASHRAE Guideline 14 (tabellen nedenfor), så en prognose ville ikke være pålidelig.",
	},
	"target.monthly.forecast.reading": {
		en: "Reading: the forecast for %s is %s (95 %% band %s–%s).",
		da: "Aflæsning: prognosen for %s er %s (95 %%-interval %s–%s).",
	},
	"target.fit.energy":    {en: "Energy (kWh per month)", da: "Energi (kWh pr. måned)"},
	"target.fit.intensity": {en: "Grid intensity (g CO₂e/kWh)", da: "Elnettets intensitet (g CO₂e/kWh)"},
	"target.fit.passes":    {en: "meets ASHRAE Guideline 14", da: "opfylder ASHRAE Guideline 14"},
	"target.fit.fails":     {en: "does not meet ASHRAE Guideline 14: not shown", da: "opfylder ikke ASHRAE Guideline 14: vises ikke"},
	"target.fit.series":    {en: "Forecast model", da: "Prognosemodel"},
	"target.fit.verdict":   {en: "Quality", da: "Kvalitet"},
	"target.fit.note": {
		en: "Fitted on the last %d complete months. ASHRAE Guideline 14 asks for CV(RMSE) ≤ 15 %% and |NMBE| ≤ 5 %% of monthly models.",
		da: "Tilpasset på de seneste %d fuldstændige måneder. ASHRAE Guideline 14 kræver CV(RMSE) ≤ 15 %% og |NMBE| ≤ 5 %% af månedsmodeller.",
	},

	// 3 What changed.
	"change.heading": {en: "3. What changed: a cleaner grid or less use", da: "3. Hvad ændrede sig: renere el eller mindre forbrug"},
	"change.unavailable": {
		en: "The split needs the last 24 months to be complete (metering coverage of at least %s every month); that is not the case yet.",
		da: "Opdelingen kræver, at de seneste 24 måneder er fuldstændige (målingsdækning på mindst %s hver måned); det er endnu ikke tilfældet.",
	},
	"change.chart.title": {en: "Change in emissions, the last 12 months against the 12 before", da: "Ændring i udledning, de seneste 12 måneder mod de 12 før"},
	"change.grid":        {en: "Grid got cleaner", da: "Elnettet blev renere"},
	"change.usage":       {en: "We used less", da: "Vi brugte mindre"},
	"change.total":       {en: "Total change", da: "Samlet ændring"},
	"change.fell": {
		en: "Reading: emissions fell by %s from %s to %s; the grid's intensity accounts for %s and our use for %s.",
		da: "Aflæsning: udledningen faldt med %s fra %s til %s; elnettets intensitet står for %s og vores forbrug for %s.",
	},
	"change.rose": {
		en: "Reading: emissions rose by %s from %s to %s; the grid's intensity accounts for %s and our use for %s.",
		da: "Aflæsning: udledningen steg med %s fra %s til %s; elnettets intensitet står for %s og vores forbrug for %s.",
	},
	"change.intensity": {en: "Grid intensity, consumption-weighted (g CO₂e/kWh)", da: "Elnettets intensitet, forbrugsvægtet (g CO₂e/kWh)"},
	"change.method": {
		en: "Split by the Shapley method: the two parts add up exactly to the total change. Location-based figures.",
		da: "Opdelt med Shapley-metoden: de to dele summer præcist til den samlede ændring. Lokationsbaserede tal.",
	},

	// 4 Breakdown.
	"breakdown.heading": {en: "4. Where the energy went", da: "4. Hvor energien gik hen"},
	"breakdown.intro": {
		en: "Each meter is counted once, at the level it is accounted at. What a meter measured beyond the meters below it is shown as losses and unmetered loads (cooling, UPS losses, devices without their own meter).",
		da: "Hver måler tælles én gang på det niveau, den opgøres på. Det, en måler har målt ud over målerne under den, vises som tab og umålt forbrug (køling, UPS-tab, enheder uden egen måler).",
	},
	"breakdown.chart.title":   {en: "Energy by room", da: "Energi pr. rum"},
	"breakdown.chart.total":   {en: "energy", da: "energi"},
	"breakdown.chart.losses":  {en: "of which losses and unmetered", da: "heraf tab og umålt"},
	"breakdown.chart.reading": {en: "Reading: room %s at %s used the most energy, %s.", da: "Aflæsning: rum %s på %s brugte mest energi, %s."},
	"breakdown.nogroup":       {en: "(not given)", da: "(ikke angivet)"},
	"breakdown.bysite":        {en: "By site", da: "Pr. lokation"},
	"breakdown.byroom":        {en: "By room", da: "Pr. rum"},
	"breakdown.byclass":       {en: "By device class", da: "Pr. enhedstype"},
	"breakdown.top":           {en: "The %d largest consumers (of %d devices)", da: "De %d største forbrugere (af %d enheder)"},
	"breakdown.balances":      {en: "Balance of each accounting meter", da: "Balance for hver opgørelsesmåler"},
	"breakdown.balances.note": {
		en: "Measured: the accounting meter's own reading. In meters below: the sum of the lowest meters it feeds (outlets, PDUs, devices). The rest is lost in conversion or used by loads without a meter.",
		da: "Målt: opgørelsesmålerens egen aflæsning. I målere under: summen af de nederste målere, den forsyner (udtag, PDU'er, enheder). Resten går tabt i omformning eller bruges af forbrugere uden måler.",
	},

	// 5 PUE and the EED.
	"pue.heading": {en: "5. PUE and the EU Energy Efficiency Directive", da: "5. PUE og EU's energieffektivitetsdirektiv"},
	"pue.intro": {
		en: "PUE is the data centre's total energy divided by the energy of its IT equipment (ISO/IEC 30134-2): 1.0 would mean no energy at all for cooling and power conversion. Lower is better.",
		da: "PUE er datacentrets samlede energi divideret med it-udstyrets energi (ISO/IEC 30134-2): 1,0 ville betyde, at der slet ikke bruges energi til køling og omformning. Lavere er bedre.",
	},
	"pue.chart.title":     {en: "PUE per month, the last 12 months", da: "PUE pr. måned, de seneste 12 måneder"},
	"pue.chart.y":         {en: "PUE (facility ÷ IT)", da: "PUE (bygning ÷ it)"},
	"pue.reading.site":    {en: "%s %s", da: "%s %s", same: true},
	"pue.reading":         {en: "Reading: measured PUE in %s: %s.", da: "Aflæsning: målt PUE i %s: %s."},
	"pue.reading.none":    {en: "Reading: no site measures its PUE (no facility meter).", da: "Aflæsning: ingen lokation måler sin PUE (ingen bygningsmåler)."},
	"pue.reading.assumed": {en: "Dashed: an assumed PUE from the configuration, not a measurement.", da: "Stiplet: en antaget PUE fra konfigurationen, ikke en måling."},
	"eed.heading":         {en: "What the EU Energy Efficiency Directive asks data centres to report", da: "Hvad EU's energieffektivitetsdirektiv kræver, at datacentre rapporterer"},
	"eed.intro": {
		en: "Data centres with at least 500 kW of installed IT power report these figures every year to the European database on data centres (Directive (EU) 2023/1791, Art. 12 and Annex VII; Delegated Regulation (EU) 2024/1364). The table says what ecometer supplies from its meters this month, and what has to come from elsewhere.",
		da: "Datacentre med mindst 500 kW installeret it-effekt indberetter hvert år disse tal til EU's database for datacentre (direktiv (EU) 2023/1791, art. 12 og bilag VII; delegeret forordning (EU) 2024/1364). Tabellen viser, hvad ecometer leverer fra sine målere denne måned, og hvad der skal komme andetsteds fra.",
	},
	"eed.col.item":   {en: "Item", da: "Punkt"},
	"eed.col.ref":    {en: "Required by", da: "Krævet i"},
	"eed.col.status": {en: "Supplied?", da: "Leveres?"},
	"eed.col.value":  {en: "This month", da: "Denne måned"},
	"eed.col.basis":  {en: "How, or why not", da: "Hvordan, eller hvorfor ikke"},
	"eed.edc":        {en: "Total energy consumption of the data centre (EDC)", da: "Datacentrets samlede energiforbrug (EDC)"},
	"eed.eit":        {en: "Energy consumption of the IT equipment (EIT)", da: "It-udstyrets energiforbrug (EIT)"},
	"eed.pue":        {en: "Power usage effectiveness, PUE = EDC ÷ EIT", da: "Effektivitetstal PUE = EDC ÷ EIT"},
	"eed.renewable":  {en: "Renewable energy used (ERES-TOT: guarantees of origin, PPAs, on-site) and REF", da: "Brugt vedvarende energi (ERES-TOT: oprindelsesgarantier, PPA'er, egenproduktion) og REF"},
	"eed.pdit":       {en: "Installed IT power demand (PDIT)", da: "Installeret it-effektbehov (PDIT)"},
	"eed.water":      {en: "Water input (WIN) and WUE", da: "Vandforbrug (WIN) og WUE"},
	"eed.waste_heat": {en: "Waste heat reused (EREUSE) and ERF", da: "Genanvendt overskudsvarme (EREUSE) og ERF"},
	"eed.floor_area": {en: "Floor area (total and computer room)", da: "Gulvareal (samlet og serverrum)"},
	"eed.temperature": {
		en: "Temperature set points, cooling and refrigerants", da: "Temperatursætpunkter, køling og kølemidler",
	},
	"eed.ict_capacity": {en: "ICT capacity, data traffic and data stored", da: "Ikt-kapacitet, datatrafik og lagrede data"},
	// Where each item is asked for: Directive (EU) 2023/1791 Art. 12 and
	// Annex VII; Delegated Regulation (EU) 2024/1364 Art. 3 with its
	// Annexes I (information and KPIs) and II (their measurement), and the
	// sustainability indicators (PUE, WUE, ERF, REF) of its Art. 4 and
	// Annex III.
	"eed.ref.edc":             {en: "Reg. (EU) 2024/1364 Art. 3, Annexes I–II; Dir. (EU) 2023/1791 Annex VII", da: "Forordning (EU) 2024/1364 art. 3, bilag I–II; direktiv (EU) 2023/1791 bilag VII"},
	"eed.ref.eit":             {en: "Reg. (EU) 2024/1364 Art. 3, Annexes I–II; Dir. (EU) 2023/1791 Annex VII", da: "Forordning (EU) 2024/1364 art. 3, bilag I–II; direktiv (EU) 2023/1791 bilag VII"},
	"eed.ref.pue":             {en: "Reg. (EU) 2024/1364 Art. 4, Annex III", da: "Forordning (EU) 2024/1364 art. 4, bilag III"},
	"eed.ref.renewable":       {en: "Reg. (EU) 2024/1364 Art. 3, Annexes I–II; REF: Art. 4, Annex III", da: "Forordning (EU) 2024/1364 art. 3, bilag I–II; REF: art. 4, bilag III"},
	"eed.ref.pdit":            {en: "Reg. (EU) 2024/1364 Annex I; Dir. (EU) 2023/1791 Annex VII", da: "Forordning (EU) 2024/1364 bilag I; direktiv (EU) 2023/1791 bilag VII"},
	"eed.ref.water":           {en: "Reg. (EU) 2024/1364 Art. 3, Annexes I–II; WUE: Art. 4, Annex III", da: "Forordning (EU) 2024/1364 art. 3, bilag I–II; WUE: art. 4, bilag III"},
	"eed.ref.waste_heat":      {en: "Reg. (EU) 2024/1364 Art. 3, Annexes I–II; ERF: Art. 4, Annex III", da: "Forordning (EU) 2024/1364 art. 3, bilag I–II; ERF: art. 4, bilag III"},
	"eed.ref.floor_area":      {en: "Reg. (EU) 2024/1364 Annex I; Dir. (EU) 2023/1791 Annex VII", da: "Forordning (EU) 2024/1364 bilag I; direktiv (EU) 2023/1791 bilag VII"},
	"eed.ref.temperature":     {en: "Reg. (EU) 2024/1364 Annexes I–II; Dir. (EU) 2023/1791 Annex VII", da: "Forordning (EU) 2024/1364 bilag I–II; direktiv (EU) 2023/1791 bilag VII"},
	"eed.ref.ict_capacity":    {en: "Reg. (EU) 2024/1364 Annex I; Dir. (EU) 2023/1791 Annex VII", da: "Forordning (EU) 2024/1364 bilag I; direktiv (EU) 2023/1791 bilag VII"},
	"eed.status.supplied":     {en: "Supplied", da: "Leveres"},
	"eed.status.partial":      {en: "Partly", da: "Delvist"},
	"eed.status.not_supplied": {en: "Not supplied", da: "Leveres ikke"},
	"eed.basis.measured":      {en: "Metered by ecometer", da: "Målt af ecometer"},
	"eed.basis.assumed_pue": {
		en: "Partly estimated: sites without a facility meter count IT energy × their assumed PUE",
		da: "Delvist anslået: lokationer uden bygningsmåler tæller it-energi × deres antagne PUE",
	},
	"eed.basis.no_facility_meter": {en: "Needs a facility (building) meter", da: "Kræver en bygningsmåler"},
	"eed.basis.no_it_meter":       {en: "No IT accounting meter", da: "Ingen it-opgørelsesmåler"},
	"eed.basis.no_instruments":    {en: "No contractual instruments in the configuration", da: "Ingen aftaleinstrumenter i konfigurationen"},
	"eed.basis.guarantees_of_origin": {
		en: "Guarantees of origin from the configuration only; PPAs and on-site generation are not recorded",
		da: "Kun oprindelsesgarantier fra konfigurationen; PPA'er og egenproduktion registreres ikke",
	},
	"eed.basis.design_figure": {en: "A design figure of the installation, not a meter reading", da: "Et designtal for installationen, ikke en måleraflæsning"},
	"eed.basis.not_metered":   {en: "ecometer has no meters for it (water, heat, temperature)", da: "ecometer har ingen målere til det (vand, varme, temperatur)"},
	"eed.basis.building_data": {en: "Building data, from facility management", da: "Bygningsdata fra driften"},
	"eed.basis.it_inventory":  {en: "From the IT and network teams' systems", da: "Fra it- og netværksteamenes systemer"},
	"eed.note": {
		en: "The Directive asks for calendar-year figures; a monthly report shows the month. The indicators PUE, WUE, ERF and REF are computed from the items above.",
		da: "Direktivet kræver tal for kalenderåret; en månedsrapport viser måneden. Nøgletallene PUE, WUE, ERF og REF beregnes ud fra punkterne ovenfor.",
	},

	// 6 Grid.
	"grid.heading": {en: "6. The grid's CO₂ intensity", da: "6. Elnettets CO₂-intensitet"},
	"grid.intro": {
		en: "The grid's CO₂ intensity changes hour by hour with wind, sun and imports. Consumption-weighted: the intensity our electricity actually met. Plain average: what a completely flat load would have met. A weighted figure below the plain one means more of our use fell in cleaner hours.",
		da: "Elnettets CO₂-intensitet skifter time for time med vind, sol og import. Forbrugsvægtet: den intensitet, vores el faktisk mødte. Simpelt gennemsnit: hvad et helt jævnt forbrug ville have mødt. Ligger det vægtede tal under det simple, faldt mere af vores forbrug i renere timer.",
	},
	"grid.area":                     {en: "Price area", da: "Prisområde"},
	"grid.weighted":                 {en: "Consumption-weighted (g CO₂e/kWh)", da: "Forbrugsvægtet (g CO₂e/kWh)"},
	"grid.plain":                    {en: "Plain average, same hours", da: "Simpelt gennemsnit, samme timer"},
	"grid.areamonth":                {en: "Price area, whole month", da: "Prisområdet, hele måneden"},
	"grid.use.title":                {en: "Mean use by hour of the day", da: "Gennemsnitligt forbrug pr. time på døgnet"},
	"grid.hour":                     {en: "hour (Danish time)", da: "time (dansk tid)"},
	"grid.int.title":                {en: "Grid intensity by hour of the day", da: "Elnettets intensitet pr. time på døgnet"},
	"grid.int.plain":                {en: "plain average", da: "simpelt gennemsnit"},
	"grid.int.weighted":             {en: "consumption-weighted", da: "forbrugsvægtet"},
	"grid.use.reading":              {en: "Reading: use peaks at %s:00 with %s on average.", da: "Aflæsning: forbruget topper kl. %s med %s i gennemsnit."},
	"grid.int.reading":              {en: "Reading: the grid is cleanest at %s:00 (%s on average).", da: "Aflæsning: elnettet er renest kl. %s (%s i gennemsnit)."},
	"grid.int.reading.none":         {en: "Reading: no hourly intensity this month.", da: "Aflæsning: ingen timeintensitet denne måned."},
	"grid.source.measured":          {en: "measured for the hour", da: "målt for timen"},
	"grid.source.same-hour-of-week": {en: "same hour of the nearest week", da: "samme time i nærmeste uge"},
	"grid.source.annual-factor":     {en: "annual factor", da: "årsfaktor"},
	"grid.source.built-in-hourly":   {en: "ecometer's built-in Energinet data for the hour", da: "ecometers indbyggede Energinet-data for timen"},
	"grid.source.built-in-annual":   {en: "ecometer's built-in Energinet annual mean", da: "ecometers indbyggede Energinet-årsgennemsnit"},
	"grid.sources": {
		en: "Where each hour's intensity came from: %s. Share not measured for its own hour: %s.",
		da: "Hvor hver times intensitet kom fra: %s. Andel, der ikke er målt for sin egen time: %s.",
	},

	// 7 Power-down and anomalies.
	"powerdown.heading": {en: "7. Savings from powering down", da: "7. Besparelser ved slukning"},
	"powerdown.none": {
		en: "No power-down policy has been applied this month, so there are no savings to report.",
		da: "Der er ikke anvendt nogen slukningspolitik denne måned, så der er ingen besparelser at rapportere.",
	},
	"powerdown.total": {
		en: "Switching equipment off outside its hours of use avoided %s of electricity and %s this month.",
		da: "Slukning af udstyr uden for brugstiden sparede %s el og %s denne måned.",
	},
	"powerdown.policy":  {en: "Policy", da: "Politik"},
	"powerdown.windows": {en: "Windows", da: "Vinduer"},
	"powerdown.devices": {en: "Devices", da: "Enheder"},
	"powerdown.kwh":     {en: "kWh avoided", da: "Sparet kWh"},
	"powerdown.kg":      {en: "kg CO₂e avoided", da: "Sparet kg CO₂e"},
	"powerdown.method": {
		en: "Measured: metered energy during the windows against the same hours without the policy.",
		da: "Målt: målt energi i vinduerne sammenholdt med de samme timer uden politikken.",
	},
	"anomaly.heading":         {en: "Unusual consumption", da: "Usædvanligt forbrug"},
	"anomaly.none":            {en: "No unusual consumption was found this month.", da: "Der blev ikke fundet usædvanligt forbrug denne måned."},
	"anomaly.kind":            {en: "Finding", da: "Fund"},
	"anomaly.kind.idle":       {en: "Idle: draws power but does no work", da: "Tomgang: bruger strøm uden at arbejde"},
	"anomaly.kind.night-load": {en: "Draws at night what it draws by day", da: "Bruger lige så meget om natten som om dagen"},
	"anomaly.kind.spike":      {en: "Sudden rise in consumption", da: "Pludselig stigning i forbruget"},
	"anomaly.kind.other":      {en: "Other finding", da: "Andet fund"},
	// The kinds of internal/anomalies (models/anomaly, models/idle).
	"anomaly.kind.deviation":           {en: "Consumption far from its usual level", da: "Forbrug langt fra det sædvanlige niveau"},
	"anomaly.kind.drift":               {en: "Consumption drifting from its usual level", da: "Forbruget glider væk fra det sædvanlige niveau"},
	"anomaly.kind.flatline":            {en: "Meter reading stuck at one value for hours", da: "Måleraflæsningen står stille i timevis"},
	"anomaly.kind.counter_reset":       {en: "Energy counter went backwards", da: "Energitælleren gik baglæns"},
	"anomaly.kind.pue_step":            {en: "PUE changed level", da: "PUE skiftede niveau"},
	"anomaly.kind.ups_efficiency_drop": {en: "UPS converts less efficiently than before", da: "UPS'en omsætter mindre effektivt end før"},
	"anomaly.kind.power_while_off":     {en: "Draws power while reported off", da: "Bruger strøm, mens den meldes slukket"},
	"anomaly.kind.phase_imbalance":     {en: "Phases unevenly loaded", da: "Faserne er skævt belastet"},
	"anomaly.kind.idle-night":          {en: "Idle every night: could be powered down at night", da: "Tomgang hver nat: kan slukkes om natten"},
	"anomaly.kind.idle-outlet":         {en: "Outlet draws almost nothing: could be switched off", da: "Udtaget bruger næsten intet: kan slukkes"},
	"anomaly.kind.poe-night":           {en: "PoE port draws power at night", da: "PoE-porten bruger strøm om natten"},

	// 8 Embodied.
	"embodied.heading": {en: "8. Embodied emissions of the equipment", da: "8. Indlejret udledning i udstyret"},
	"embodied.none": {
		en: "No asset inventory is stored, so embodied emissions cannot be shown (load one with ecometer inventory import).",
		da: "Der er ikke gemt en aktivliste, så den indlejrede udledning kan ikke vises (indlæs en med ecometer inventory import).",
	},
	"embodied.intro": {
		en: "Making, transporting and disposing of the equipment causes emissions too (Scope 3). Spread over each device's planned lifetime, this month's share is %s, from %d of the %d devices in their planned lifetime.",
		da: "Fremstilling, transport og bortskaffelse af udstyret giver også udledning (scope 3). Fordelt over hver enheds planlagte levetid er denne måneds andel %s, fra %d af de %d enheder i deres planlagte levetid.",
	},
	"embodied.class":        {en: "Class", da: "Type"},
	"embodied.assets":       {en: "Devices", da: "Enheder"},
	"embodied.product":      {en: "With product figure", da: "Med produkttal"},
	"embodied.default":      {en: "With class average", da: "Med typegennemsnit"},
	"embodied.missing":      {en: "Without figure", da: "Uden tal"},
	"embodied.ext.heading":  {en: "What keeping equipment longer would avoid", da: "Hvad længere levetid for udstyret ville spare"},
	"embodied.ext.lifetime": {en: "Lifetime", da: "Levetid"},
	"embodied.ext.years":    {en: "%s → %s years", da: "%s → %s år"},
	"embodied.ext.per":      {en: "Per device (kg CO₂e/year)", da: "Pr. enhed (kg CO₂e/år)"},
	"embodied.ext.fleet":    {en: "Current devices (kg CO₂e/year)", da: "Nuværende enheder (kg CO₂e/år)"},
	"embodied.ext.note": {
		en: "Avoided per year: the footprint spread over the longer lifetime instead of the shorter one.",
		da: "Sparet pr. år: fodaftrykket fordelt over den længere levetid i stedet for den kortere.",
	},
	"embodied.method": {
		en: "Each device's footprint (its product figure, else the median of its class in Boavizta's data) is spread evenly over its planned lifetime. The use phase is left out: the meters count it (Scope 2).",
		da: "Hver enheds fodaftryk (produktets tal, ellers medianen for typen i Boaviztas data) fordeles jævnt over den planlagte levetid. Brugsfasen er udeladt: den tæller målerne (scope 2).",
	},

	// 9 Data quality.
	"quality.heading":  {en: "9. Data quality and sources", da: "9. Datakvalitet og kilder"},
	"quality.hours":    {en: "Hours with data", da: "Timer med data"},
	"quality.fallback": {en: "Intensity not measured for its hour", da: "Intensitet ikke målt for timen"},
	"quality.bases":    {en: "Annual factors used", da: "Anvendte årsfaktorer"},
	"quality.devices.none": {
		en: "Every device was read for at least %s of the month.",
		da: "Alle enheder blev aflæst i mindst %s af måneden.",
	},
	"quality.devices": {
		en: "%d devices were read for less than %s of the month (unreachable, switched off or not yet collected):",
		da: "%d enheder blev aflæst i mindre end %s af måneden (ikke tilgængelige, slukket eller endnu ikke indsamlet):",
	},
	"quality.devices.one": {
		en: "%d device was read for less than %s of the month (unreachable, switched off or not yet collected):",
		da: "%d enhed blev aflæst i mindre end %s af måneden (ikke tilgængelig, slukket eller endnu ikke indsamlet):",
	},
	"quality.state":   {en: "State", da: "Tilstand"},
	"quality.partial": {en: "readings missing for part of the month", da: "aflæsninger mangler i en del af måneden"},
	"quality.nodata":  {en: "no readings at all this month", da: "ingen aflæsninger overhovedet denne måned"},
	"quality.nometer": {
		en: "%s has no accounting meter: no device of the site has an accounting role, so its energy is not counted.",
		da: "%s har ingen opgørelsesmåler: ingen enhed på lokationen har en opgørelsesrolle, så dens energi tælles ikke med.",
	},
	"quality.method.heading": {en: "How the figures are made", da: "Sådan beregnes tallene"},
	"quality.method": {
		en: "Energy per hour comes from each device's own energy counter, else from its power readings; a gap longer than three poll intervals counts as missing and is never filled in. Totals are taken at one level per power chain, so nothing is counted twice. Each hour's energy is multiplied by the grid intensity of the same hour in its price area; hours without a published intensity use the same hour of the nearest week, then the annual factor, and are counted in the table above.",
		da: "Energien pr. time kommer fra hver enheds egen energitæller, ellers fra dens effektaflæsninger; et hul længere end tre aflæsningsintervaller tælles som manglende og udfyldes aldrig. Totaler tages på ét niveau pr. forsyningskæde, så intet tælles to gange. Hver times energi ganges med elnettets intensitet i samme time i prisområdet; timer uden offentliggjort intensitet bruger samme time i nærmeste uge, derefter årsfaktoren, og tælles med i tabellen ovenfor.",
	},
	"quality.energinet": {en: "Source: Energinet (www.energidataservice.dk)", da: "Kilde: Energinet (www.energidataservice.dk)"},
	"quality.boavizta":  {en: "Class averages: Boavizta environmental-footprint-data (ODbL-1.0).", da: "Typegennemsnit: Boavizta environmental-footprint-data (ODbL-1.0)."},

	// E-mail.
	"mail.subject": {en: "Sustainability report %s", da: "Bæredygtighedsrapport %s"},
	"mail.body": {
		en: "Attached is the sustainability report for %s (%d sites): the PDF to read, and the same figures as CSV and JSON.",
		da: "Vedhæftet er bæredygtighedsrapporten for %s (%d lokationer): PDF'en til læsning og de samme tal som CSV og JSON.",
	},
	"mail.incomplete": {
		en: "Note: metering covers less than %s of the month at some sites; page 1 of the report says where.",
		da: "Bemærk: målingerne dækker mindre end %s af måneden på nogle lokationer; side 1 i rapporten viser hvor.",
	},
	"mail.footer": {en: "Sent by ecometer.", da: "Sendt af ecometer."},
}
