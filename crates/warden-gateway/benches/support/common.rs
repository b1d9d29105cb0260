//! What the load harnesses share: settings from the environment, runtimes,
//! and the process's resident size.

use anyhow::Context as _;

/// The environment variable `name` parsed, else `default`.
pub(crate) fn env_or<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("`{v}` is not a valid {name}")),
        Err(_) => Ok(default),
    }
}

/// A multi-thread runtime of `threads` workers named `name`.
pub(crate) fn runtime(threads: usize, name: &str) -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name(name)
        .enable_all()
        .build()?)
}

/// A line of `/proc/self/status` (`VmRSS`, `VmHWM`), in MiB.
pub(crate) fn proc_status_mib(field: &str) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .with_context(|| format!("no {field} in /proc/self/status"))?;
    let kib: f64 = line
        .trim_start_matches(field)
        .trim_start_matches(':')
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kib / 1024.0)
}
