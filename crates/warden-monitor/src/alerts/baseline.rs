//! The baseline statistics: a tool's share of the recent actions and the
//! recent denial ratio against the long run (binomial tail probabilities),
//! argument-shape novelty and time of day.
//!
//! For `tool_mix` and `denial_ratio` the long run is every action before
//! the last `recent` ones; its ratio is smoothed with Laplace's rule of
//! succession, `(count + 1) / (actions + 2)`, so that a tool never used
//! (or an agent never denied) has a small but non-zero expected share.
//! The rule fires when the probability of seeing at least as many in
//! `recent` actions, under that ratio, is no larger than the one-sided
//! tail of a `sigma`-σ normal deviation (4σ: 3.2e-5; 5σ: 2.9e-7).

use warden_audit::AuditRecord;
use warden_policy::AlertRule;

use super::Evidence;
use super::state::{AgentState, RECENT, RecentAction};

/// What an alert reports: observed, baseline, evidence.
pub(super) type Found = Option<(String, String, Vec<Evidence>)>;

/// One-sided tail probabilities of the standard normal at 1σ … 10σ.
const NORMAL_TAIL: [f64; 10] = [
    1.586_552_539e-1,
    2.275_013_195e-2,
    1.349_898_032e-3,
    3.167_124_183e-5,
    2.866_515_719e-7,
    9.865_876_450e-10,
    1.279_812_544e-12,
    6.220_960_574e-16,
    1.128_588_406e-19,
    7.619_853_024e-24,
];

/// The one-sided normal tail at `sigma` (clamped to 1–10).
pub(super) fn normal_tail(sigma: u32) -> f64 {
    let i = sigma.clamp(1, 10) as usize - 1;
    NORMAL_TAIL.get(i).copied().unwrap_or(f64::MIN_POSITIVE)
}

/// `ln k!` for k up to [`RECENT`]: binomial coefficients without overflow.
#[derive(Debug)]
pub(super) struct LnFactorials(Vec<f64>);

impl Default for LnFactorials {
    fn default() -> Self {
        let mut table = Vec::with_capacity(RECENT + 1);
        let mut sum = 0.0;
        table.push(0.0);
        for k in 1..=RECENT {
            sum += (k as f64).ln();
            table.push(sum);
        }
        Self(table)
    }
}

impl LnFactorials {
    /// `ln k!`: from the table, beyond it by Stirling's series.
    fn at(&self, k: u64) -> f64 {
        match usize::try_from(k).ok().and_then(|i| self.0.get(i)) {
            Some(v) => *v,
            None => {
                let k = k as f64;
                k * k.ln() - k + 0.5 * (std::f64::consts::TAU * k).ln() + 1.0 / (12.0 * k)
            }
        }
    }

    /// P(X ≥ k) for X ~ Poisson(λ), summed in log space from `k` up
    /// until the terms no longer matter.
    pub(super) fn poisson_tail(&self, k: u64, lambda: f64) -> f64 {
        if k == 0 {
            return 1.0;
        }
        let lambda = lambda.max(1e-9);
        let first = -lambda + k as f64 * lambda.ln() - self.at(k);
        let (mut sum, mut term, mut j) = (0.0, 1.0, k);
        // Relative to the first term: each next one is λ / (j + 1) of the last.
        while term > 1e-17 || (j as f64) < lambda {
            sum += term;
            j += 1;
            term *= lambda / j as f64;
            if j > k + 100_000 {
                break;
            }
        }
        (first + sum.ln()).exp().min(1.0)
    }

    /// P(X ≥ x) for X ~ Binomial(n, p), n ≤ [`RECENT`], summed in log
    /// space from `x` up until the terms no longer matter.
    pub(super) fn binomial_tail(&self, x: u64, n: u64, p: f64) -> f64 {
        if x == 0 {
            return 1.0;
        }
        if x > n {
            return 0.0;
        }
        let p = p.clamp(1e-12, 1.0 - 1e-12);
        let (lp, lq) = (p.ln(), (1.0 - p).ln());
        let ln_n = self.at(n);
        let term =
            |k: u64| ln_n - self.at(k) - self.at(n - k) + k as f64 * lp + (n - k) as f64 * lq;
        let first = term(x);
        let mut sum = 0.0;
        for k in x..=n {
            let t = term(k) - first;
            // Past the mode terms only shrink: stop when negligible.
            if t < -40.0 && k as f64 > n as f64 * p {
                break;
            }
            sum += t.exp();
        }
        (first + sum.ln()).exp().min(1.0)
    }
}

impl LnFactorials {
    /// P(X ≥ x) for X ~ Binomial(n, p) when it is at most `bound`. Cheap
    /// when it is not: a count at or below the mean, or one whose own
    /// probability P(X = x) — a lower bound of the tail — exceeds `bound`,
    /// is answered without the sum.
    pub(super) fn binomial_tail_at_most(&self, x: u64, n: u64, p: f64, bound: f64) -> Option<f64> {
        if x == 0 || x > n || x as f64 <= n as f64 * p {
            return None;
        }
        let q = p.clamp(1e-12, 1.0 - 1e-12);
        let ln_pmf = self.at(n) - self.at(x) - self.at(n - x)
            + x as f64 * q.ln()
            + (n - x) as f64 * (1.0 - q).ln();
        if ln_pmf > bound.ln() {
            return None;
        }
        let tail = self.binomial_tail(x, n, p);
        (tail <= bound).then_some(tail)
    }
}

/// The last `n` actions, oldest first, if there are that many.
fn window(state: &AgentState, n: u32) -> Option<impl Iterator<Item = &RecentAction>> {
    let n = n as usize;
    let skip = state.recent.len().checked_sub(n)?;
    Some(state.recent.iter().skip(skip))
}

/// The evidence of the last `n` actions that `keep` keeps.
fn evidence(state: &AgentState, n: u32, keep: impl Fn(&&RecentAction) -> bool) -> Vec<Evidence> {
    window(state, n)
        .into_iter()
        .flatten()
        .filter(keep)
        .map(|a| a.evidence.clone())
        .collect()
}

/// The binomial test `tool_mix` and `denial_ratio` share: how many of the
/// last `recent` actions `keep` keeps, against how many of all the actions
/// before them it would have kept (`ever` counts them all, the window's
/// included). `what(x)` names the count.
fn binomial_test(
    rule: &AlertRule,
    state: &AgentState,
    ln: &LnFactorials,
    keep: impl Fn(&&RecentAction) -> bool + Copy,
    ever: u64,
    what: impl Fn(u64) -> String,
    long_run: &str,
) -> Found {
    let n = u64::from(rule.recent);
    let x = window(state, rule.recent)?.filter(keep).count() as u64;
    let long_n = state.decisions.checked_sub(n)?;
    if x < rule.threshold || long_n < rule.warm_up {
        return None;
    }
    let long_x = ever.saturating_sub(x);
    let p = (long_x as f64 + 1.0) / (long_n as f64 + 2.0);
    let bound = normal_tail(rule.sigma);
    let tail = ln.binomial_tail_at_most(x, n, p, bound)?;
    Some((
        format!(
            "{} the last {n} actions ({:.0} %)",
            what(x),
            100.0 * x as f64 / n as f64
        ),
        format!(
            "{long_run} {:.1} % ({long_x} of {long_n} actions); P(≥ {x}) = {tail:.1e} ≤ {bound:.1e} ({}σ)",
            100.0 * long_x as f64 / long_n.max(1) as f64,
            rule.sigma.clamp(1, 10)
        ),
        evidence(state, rule.recent, keep),
    ))
}

/// `tool_mix`: the current tool's count in the last `recent` actions
/// against its long-run share.
pub(super) fn tool_mix(
    rule: &AlertRule,
    state: &AgentState,
    tool: &str,
    ln: &LnFactorials,
) -> Found {
    let ever = state.tools.get(tool).copied().unwrap_or(0);
    binomial_test(
        rule,
        state,
        ln,
        |a| a.tool == tool,
        ever,
        |x| format!("{tool}: {x} of"),
        "long-run share",
    )
}

/// `denial_ratio`: denials in the last `recent` actions against the
/// long-run ratio (only when `record` is a denial).
pub(super) fn denial_ratio(
    rule: &AlertRule,
    state: &AgentState,
    record: &AuditRecord,
    ln: &LnFactorials,
) -> Found {
    if record.decision.as_deref() != Some("deny") {
        return None;
    }
    binomial_test(
        rule,
        state,
        ln,
        |a| a.denied,
        state.denied,
        |x| format!("{x} denials in"),
        "long-run denial ratio",
    )
}

/// `time_of_day`: an action in a local hour that held at most `threshold`
/// of the agent's actions, after `warm_up` actions over `warm_up_days`.
pub(super) fn time_of_day(
    rule: &AlertRule,
    state: &AgentState,
    record: &AuditRecord,
    evidence: &Evidence,
) -> Found {
    let days = (record.time_ms - state.first_ms?) / 86_400_000;
    if state.actions <= rule.warm_up || days < i64::from(rule.warm_up_days) {
        return None;
    }
    let (count, hour) = state.in_local_hour(record.time_ms, rule.utc_offset_minutes);
    (count <= rule.threshold).then(|| {
        let offset = rule.utc_offset_minutes;
        let clock = format!(
            "UTC{}{:02}:{:02}",
            if offset < 0 { '-' } else { '+' },
            offset.abs() / 60,
            offset.abs() % 60
        );
        (
            format!("an action between {hour:02}:00 and {hour:02}:59 ({clock})"),
            format!(
                "{count} of {} actions over {days} days in that hour",
                state.actions.saturating_sub(1)
            ),
            vec![evidence.clone()],
        )
    })
}
