//! Lambda's CPU share for a memory size, imposed on a child process with a cgroup (v1) CPU quota.
//!
//! Lambda gives a function CPU in proportion to its memory: one vCPU at 1769 MB, so 128 MB is
//! about 7.2 % of a core. `cpu.cfs_quota_us / cpu.cfs_period_us` of a cgroup of its own gives a
//! child that share; the child joins the cgroup between `fork` and `exec`, so all it runs is capped.

use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

/// The cgroup v1 CPU controller's mount.
const CPU_ROOT: &str = "/sys/fs/cgroup/cpu";
/// The scheduler period: 100 ms, Linux's default.
const PERIOD_US: u64 = 100_000;
/// The memory at which Lambda gives one full vCPU.
const FULL_CPU_MB: u64 = 1769;

/// A cgroup with the CPU quota of a Lambda function of `memory_mb`; removed when dropped.
pub struct CpuCap {
    dir: PathBuf,
    procs: CString,
    /// The quota as a share of one core.
    pub share: f64,
}

impl CpuCap {
    /// Creates the cgroup `sms-bench-<memory_mb>` with the quota of `memory_mb`.
    pub fn lambda_share(memory_mb: u64) -> Result<Self, String> {
        let dir = PathBuf::from(CPU_ROOT).join(format!("sms-bench-{memory_mb}-{}", std::process::id()));
        let quota = PERIOD_US * memory_mb / FULL_CPU_MB;
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("{}: {e} (is cgroup v1 mounted writable?)", dir.display()))?;
        let write = |file: &str, value: u64| {
            std::fs::write(dir.join(file), value.to_string()).map_err(|e| format!("{}/{file}: {e}", dir.display()))
        };
        write("cpu.cfs_period_us", PERIOD_US)?;
        write("cpu.cfs_quota_us", quota)?;
        let procs = CString::new(dir.join("cgroup.procs").to_string_lossy().into_owned()).map_err(|e| e.to_string())?;
        Ok(Self {
            dir,
            procs,
            share: quota as f64 / PERIOD_US as f64,
        })
    }

    /// Makes `command`'s process join this cgroup before it executes anything of its own.
    pub fn apply(&self, command: &mut Command) {
        let procs = self.procs.clone();
        // SAFETY: between fork and exec only async-signal-safe calls are made (open, write,
        // close), on a path prepared before the fork.
        unsafe {
            command.pre_exec(move || {
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // "0" is the writing process itself.
                let written = libc::write(fd, b"0".as_ptr().cast(), 1);
                libc::close(fd);
                if written != 1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
}

impl Drop for CpuCap {
    fn drop(&mut self) {
        // The children have exited by now; an empty cgroup can be removed.
        if let Err(e) = std::fs::remove_dir(&self.dir) {
            eprintln!("channel-bench: {} not removed: {e}", self.dir.display());
        }
    }
}
