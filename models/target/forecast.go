package target

import (
	"fmt"
	"math"
)

// Model names a forecast method.
type Model string

const (
	// DampedHolt is Holt's linear trend with a damped trend (level, trend, φ).
	DampedHolt Model = "holt-damped"
	// HoltWinters is additive seasonal Holt–Winters with a damped trend, period 12.
	HoltWinters Model = "holt-winters-additive"
)

// MinMonths is the least history to fit: two to start the trend, then more
// one-step-ahead fits than parameters.
const MinMonths = 6

// SeasonalMonths is the history from which the seasonal model is used.
const SeasonalMonths = 24

// ASHRAE Guideline 14 calibration thresholds for monthly data, in percent.
const (
	MaxCVRMSE = 15.0
	MaxNMBE   = 5.0
)

// Forecast is a fitted model and its forecast.
type Forecast struct {
	Model                    Model
	Alpha, Beta, Gamma, Phi  float64 // smoothing parameters (Gamma 0 for DampedHolt)
	Fitted                   []float64
	Values                   []float64 // the forecast, one per month after the data
	CVRMSE, NMBE             float64   // percent, ASHRAE Guideline 14
	GoodEnough               bool      // CV(RMSE) ≤ 15 % and |NMBE| ≤ 5 %
	FittedFrom, Observations int       // one-step-ahead fits from this index on
}

// parameter grids searched for the least squared one-step-ahead error; a fixed
// grid keeps the fit deterministic and explainable.
var (
	alphas = []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}
	betas  = []float64{0.01, 0.05, 0.1, 0.2, 0.3}
	gammas = []float64{0.05, 0.1, 0.2, 0.3, 0.5}
	phis   = []float64{0.8, 0.9, 0.95, 0.98}
)

// MonthlyForecast fits monthly values (e.g. kWh, oldest first) and forecasts
// horizon months: damped-trend Holt, or additive Holt–Winters (period 12) once
// there are SeasonalMonths of data. Fit quality is ASHRAE Guideline 14 over
// the one-step-ahead fits, with n − p degrees of freedom (p smoothing parameters).
func MonthlyForecast(monthly []float64, horizon int) (Forecast, error) {
	if len(monthly) < MinMonths {
		return Forecast{}, fmt.Errorf("forecast: need at least %d months, got %d", MinMonths, len(monthly))
	}
	if horizon < 0 {
		return Forecast{}, fmt.Errorf("forecast: negative horizon %d", horizon)
	}
	for i, v := range monthly {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Forecast{}, fmt.Errorf("forecast: month %d: invalid value %v", i, v)
		}
	}
	best := Forecast{CVRMSE: math.Inf(1)}
	bestSSE := math.Inf(1)
	try := func(f Forecast) {
		var sse float64
		for i := f.FittedFrom; i < len(monthly); i++ {
			d := monthly[i] - f.Fitted[i]
			sse += d * d
		}
		if sse < bestSSE {
			bestSSE, best = sse, f
		}
	}
	for _, a := range alphas {
		for _, b := range betas {
			for _, p := range phis {
				if len(monthly) >= SeasonalMonths {
					for _, g := range gammas {
						try(holtWinters(monthly, a, b, g, p, horizon))
					}
				} else {
					try(dampedHolt(monthly, a, b, p, horizon))
				}
			}
		}
	}
	params := 3
	if best.Model == HoltWinters {
		params = 4
	}
	best.Observations = len(monthly)
	cv, nmbe, err := ashrae(monthly[best.FittedFrom:], best.Fitted[best.FittedFrom:], params)
	if err != nil {
		return Forecast{}, err
	}
	best.CVRMSE, best.NMBE = cv, nmbe
	best.GoodEnough = cv <= MaxCVRMSE && math.Abs(nmbe) <= MaxNMBE
	return best, nil
}

// dampedHolt: ŷ(t) = l + φb; l' = αy + (1−α)(l + φb); b' = β(l' − l) + (1−β)φb;
// forecast h ahead = l + (φ + … + φ^h)b. Starts at l = y1, b = y1 − y0.
func dampedHolt(y []float64, a, b, phi float64, horizon int) Forecast {
	f := Forecast{Model: DampedHolt, Alpha: a, Beta: b, Phi: phi, Fitted: make([]float64, len(y)), FittedFrom: 2}
	l, tr := y[1], y[1]-y[0]
	f.Fitted[0], f.Fitted[1] = y[0], y[1]
	for t := 2; t < len(y); t++ {
		f.Fitted[t] = l + phi*tr
		nl := a*y[t] + (1-a)*(l+phi*tr)
		tr = b*(nl-l) + (1-b)*phi*tr
		l = nl
	}
	damp := 0.0
	for h := 1; h <= horizon; h++ {
		damp += math.Pow(phi, float64(h))
		f.Values = append(f.Values, l+damp*tr)
	}
	return f
}

// holtWinters (additive, period m = 12): ŷ(t) = l + φb + s(t−m);
// l' = α(y − s(t−m)) + (1−α)(l + φb); b' = β(l' − l) + (1−β)φb;
// s(t) = γ(y − l') + (1−γ)s(t−m). Starts from the first two seasons: l = mean
// of season 1, b = (mean of season 2 − mean of season 1)/m, s = y − l in season 1.
func holtWinters(y []float64, a, b, g, phi float64, horizon int) Forecast {
	const m = 12
	f := Forecast{Model: HoltWinters, Alpha: a, Beta: b, Gamma: g, Phi: phi, Fitted: make([]float64, len(y)), FittedFrom: m}
	mean := func(s []float64) float64 {
		var sum float64
		for _, v := range s {
			sum += v
		}
		return sum / float64(len(s))
	}
	l := mean(y[:m])
	tr := (mean(y[m:2*m]) - l) / m
	s := make([]float64, len(y)+horizon)
	for i := range m {
		s[i] = y[i] - l
		f.Fitted[i] = y[i]
	}
	// The level so far describes the middle of season 1; move it to its end.
	l += tr * (m - 1) / 2
	for t := m; t < len(y); t++ {
		f.Fitted[t] = l + phi*tr + s[t-m]
		nl := a*(y[t]-s[t-m]) + (1-a)*(l+phi*tr)
		tr = b*(nl-l) + (1-b)*phi*tr
		s[t] = g*(y[t]-nl) + (1-g)*s[t-m]
		l = nl
	}
	damp := 0.0
	n := len(y)
	for h := 1; h <= horizon; h++ {
		damp += math.Pow(phi, float64(h))
		season := s[n-m+(h-1)%m]
		f.Values = append(f.Values, l+damp*tr+season)
	}
	return f
}

// ashrae returns CV(RMSE) = 100·√(Σ(y−ŷ)²/(n−p))/ȳ and
// NMBE = 100·Σ(y−ŷ)/((n−p)·ȳ), ASHRAE Guideline 14.
func ashrae(y, fitted []float64, p int) (cv, nmbe float64, err error) {
	n := len(y)
	if n-p <= 0 {
		return 0, 0, fmt.Errorf("forecast: %d fitted months leave no degrees of freedom for %d parameters", n, p)
	}
	var sum, sse, bias float64
	for i := range y {
		sum += y[i]
		d := y[i] - fitted[i]
		sse += d * d
		bias += d
	}
	mean := sum / float64(n)
	if mean == 0 {
		return 0, 0, fmt.Errorf("forecast: mean of the data is 0; CV(RMSE) is undefined")
	}
	dof := float64(n - p)
	return 100 * math.Sqrt(sse/dof) / mean, 100 * bias / (dof * mean), nil
}

// Band is an approximate 95 % band around a forecast whose one-step-ahead
// error is cvrmsePct of the mean: ±1.96 × CV(RMSE) × value, widening with the
// square root of the step ahead (errors of a random walk add up). It says
// how far off the months ahead may plausibly be, not a guarantee.
func Band(values []float64, cvrmsePct float64) (low, high []float64) {
	low, high = make([]float64, len(values)), make([]float64, len(values))
	for i, v := range values {
		d := 1.96 * cvrmsePct / 100 * math.Sqrt(float64(i+1)) * math.Abs(v)
		low[i], high[i] = math.Max(0, v-d), v+d
	}
	return low, high
}
