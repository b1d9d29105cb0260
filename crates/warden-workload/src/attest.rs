//! Attestation: what the kernel says about the process at the other end of
//! a Unix socket.

use std::path::PathBuf;

use tokio::net::unix::UCred;

/// A local process, as the kernel describes the peer of a Unix socket
/// connection (`SO_PEERCRED`, taken when it connected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// Its effective user id.
    pub uid: u32,
    /// Its effective group id.
    pub gid: u32,
    /// Its process id, when the kernel gave one.
    pub pid: Option<i32>,
    /// Its executable (`/proc/<pid>/exe`), when that could be read: not for
    /// a process of another user unless this one may trace it, nor for one
    /// that has exited.
    pub path: Option<PathBuf>,
}

impl Workload {
    /// The workload behind peer credentials `cred`, with its executable
    /// read from `/proc`.
    pub fn from_cred(cred: &UCred) -> Self {
        let pid = cred.pid();
        Self {
            uid: cred.uid(),
            gid: cred.gid(),
            pid,
            path: pid.and_then(executable),
        }
    }
}

/// The executable of process `pid`, from `/proc/<pid>/exe`.
///
/// A deleted executable reads as `<path> (deleted)`; it matches no `path`
/// selector, which is what we want for a binary replaced on disk.
pub fn executable(pid: i32) -> Option<PathBuf> {
    if pid <= 0 {
        return None;
    }
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_executable() {
        let pid = i32::try_from(std::process::id()).unwrap();
        let path = executable(pid).unwrap();
        assert_eq!(path, std::env::current_exe().unwrap());
        assert_eq!(executable(0), None);
        assert_eq!(executable(-1), None);
    }

    #[tokio::test]
    async fn a_socket_pair_attests_this_process() {
        let (a, _b) = tokio::net::UnixStream::pair().unwrap();
        let workload = Workload::from_cred(&a.peer_cred().unwrap());
        assert_eq!(
            workload.pid,
            Some(i32::try_from(std::process::id()).unwrap())
        );
        assert_eq!(workload.path, Some(std::env::current_exe().unwrap()));
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        let euid: u32 = uid_line.split_whitespace().nth(2).unwrap().parse().unwrap();
        assert_eq!(workload.uid, euid);
    }
}
