//! CPU time of threads, from `/proc` (Linux). Nanosecond precision through `schedstat`,
//! clock ticks through `stat` where `schedstat` is missing; zero elsewhere.

use std::time::Duration;

/// The id of the calling thread (its `/proc/self/task` entry), if readable.
pub fn current_tid() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// CPU time (user + system) consumed so far by thread `tid` of this process.
pub fn thread_cpu(tid: u32) -> Duration {
    if let Ok(text) = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")) {
        if let Some(ns) = text.split_whitespace().next().and_then(|v| v.parse().ok()) {
            return Duration::from_nanos(ns);
        }
    }
    stat_cpu(&format!("/proc/self/task/{tid}/stat"))
}

/// CPU time consumed so far by every live thread of this process.
pub fn process_cpu() -> Duration {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .map(thread_cpu)
        .sum()
}

/// CPU time (user + system) of this whole process so far, threads that ended included
/// (`getrusage`).
pub fn process_cpu_total() -> Duration {
    // SAFETY: `usage` is a plain struct on the stack that getrusage fills.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return Duration::ZERO;
        }
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// utime + stime of a `stat` file, assuming the usual 100 ticks per second.
fn stat_cpu(path: &str) -> Duration {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Duration::ZERO;
    };
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let Some(rest) = text.rsplit_once(')').map(|(_, r)| r) else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `rest` starts at field 3.
    let ticks: u64 = fields
        .get(11..13)
        .map(|f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum())
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// Pins the calling thread to `cpus` (Linux); false when that failed or is not supported.
pub fn pin_current_thread(cpus: &[usize]) -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `set` is a plain bit set on the stack, initialized by CPU_ZERO before use,
        // and its size is passed along.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_ZERO(&mut set);
            for &cpu in cpus {
                libc::CPU_SET(cpu, &mut set);
            }
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = cpus;
        false
    }
}

/// CPU time consumed so far by the live threads of this process, summed by thread name
/// (`comm`, as `top -H` shows it: 15 characters at most).
pub fn cpu_by_thread_name() -> std::collections::BTreeMap<String, Duration> {
    let mut by_name = std::collections::BTreeMap::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return by_name;
    };
    for tid in dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok()) {
        let Ok(name) = std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")) else {
            continue;
        };
        *by_name
            .entry(name.trim_end().to_owned())
            .or_insert(Duration::ZERO) += thread_cpu(tid);
    }
    by_name
}
