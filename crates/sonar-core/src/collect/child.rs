//! The child processes collectors run: smartctl (one call bounded by a timeout) and the GPU tools
//! nvidia-smi and intel_gpu_top (long-lived streams, restarted when they exit or go silent).
//! A child is owned by a guard that kills and reaps it when dropped — after a timeout, after
//! silence, on stop and on every early return — so none outlives its caller or stays a zombie.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often a waiting caller looks at the child and at its stop signal.
const TIMEOUT_POLL: Duration = Duration::from_millis(5);
const STREAM_POLL: Duration = Duration::from_millis(500);
const STOP_POLL: Duration = Duration::from_millis(200);

/// The program `name` in `dir` if it is there and can be run (`name.exe` on Windows).
pub fn executable_in(dir: &Path, name: &str) -> Option<PathBuf> {
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    is_executable(&path).then_some(path)
}

/// A file that can be run: on Unix a regular file with an execute bit; on Windows any regular
/// file (Windows has no execute bit; the extension decides, see `executable_in`).
pub fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// A started child with its stdout piped (stdin and stderr are null); killed and reaped on drop.
struct Running(Child);

impl Running {
    fn spawn(program: &Path, args: &[String]) -> Option<(Running, ChildStdout)> {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let stdout = child.stdout.take();
        // Without a pipe (not expected with Stdio::piped) the guard still kills the child.
        let running = Running(child);
        Some((running, stdout?))
    }

    /// The exit status if the child has exited (reaped), None while it runs.
    fn try_wait(&mut self) -> Option<ExitStatus> {
        self.0.try_wait().ok().flatten()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Harmless on a child already reaped: std then neither signals nor waits again.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Output of a command that finished within its time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
}

/// Runs `program args` to completion; None when it could not start or ran past `timeout`
/// (then it is killed).
pub fn run_with_timeout(program: &Path, args: &[String], timeout: Duration) -> Option<Finished> {
    let (mut running, mut pipe) = Running::spawn(program, args)?;
    // Read on a thread so a large document never fills the pipe while we wait.
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match running.try_wait() {
            Some(status) => break Some(status),
            None if Instant::now() < deadline => std::thread::sleep(TIMEOUT_POLL),
            None => break None,
        }
    };
    // Kills a child still running, so the reader sees the end of the pipe.
    drop(running);
    let stdout = reader.join().unwrap_or_default();
    let status = status?;
    Some(Finished {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
    })
}

/// How a long-lived child is kept running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Supervision {
    /// A child that printed nothing for this long is killed and started again.
    pub silence_limit: Duration,
    /// Wait before starting a child that exited or was killed.
    pub restart_wait: Duration,
    /// Runs in a row that printed nothing before the child is given up.
    pub max_silent_failures: u32,
}

/// Sleeps `total` in short steps; false when `stop` said so meanwhile.
pub fn sleep_unless(total: Duration, stop: &impl Fn() -> bool) -> bool {
    let until = Instant::now() + total;
    while Instant::now() < until {
        if stop() {
            return false;
        }
        std::thread::sleep(STOP_POLL.min(until.saturating_duration_since(Instant::now())));
    }
    !stop()
}

/// Runs `program args` on a thread of its own under `policy`, feeding each output line to
/// `on_line` (flagged when it is the first line of a run) until `stop` says so or the child is
/// given up. The handle is for tests; callers may drop it.
pub fn supervise(
    thread_name: &str,
    program: PathBuf,
    args: Vec<String>,
    policy: Supervision,
    stop: impl Fn() -> bool + Send + 'static,
    mut on_line: impl FnMut(&str, bool) + Send + 'static,
) -> Option<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(thread_name.into())
        .spawn(move || {
            let mut silent_failures = 0u32;
            while !stop() && silent_failures < policy.max_silent_failures {
                let printed =
                    run_streaming(&program, &args, policy.silence_limit, &stop, &mut on_line);
                silent_failures = if printed { 0 } else { silent_failures + 1 };
                if !sleep_unless(policy.restart_wait, &stop) {
                    break;
                }
            }
        })
        .ok()
}

/// One run of a streaming child: lines go to `on_line` until it exits, prints nothing for
/// `silence_limit`, or `stop` says so; then it is killed. True when it printed at least one line.
pub fn run_streaming(
    program: &Path,
    args: &[String],
    silence_limit: Duration,
    stop: &impl Fn() -> bool,
    on_line: &mut impl FnMut(&str, bool),
) -> bool {
    let Some((running, stdout)) = Running::spawn(program, args) else {
        return false;
    };
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout);
        let mut line = String::new();
        loop {
            line.clear();
            match lines.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.send(line.clone()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let mut printed = false;
    let mut last_line = Instant::now();
    loop {
        match rx.recv_timeout(STREAM_POLL.min(silence_limit)) {
            Ok(line) => {
                let first = !printed;
                printed = true;
                last_line = Instant::now();
                on_line(&line, first);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if stop() || last_line.elapsed() > silence_limit {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    drop(running);
    let _ = reader.join();
    printed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    /// Gone means killed and reaped: a zombie still has its /proc entry.
    fn process_gone(pid: &str) -> bool {
        !Path::new("/proc").join(pid.trim()).exists()
    }

    fn pids(log: &Path) -> Vec<String> {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    fn never() -> bool {
        false
    }

    #[test]
    fn finished_child_gives_code_and_whole_stdout() {
        let dir = tempfile::tempdir().unwrap();
        // More than a pipe holds (64 KiB): the child would block if nobody read meanwhile.
        let tool = script(
            dir.path(),
            "big",
            "head -c 300000 /dev/zero | tr '\\0' x; exit 3",
        );
        let done = run_with_timeout(&tool, &[], Duration::from_secs(10)).unwrap();
        assert_eq!(done.code, Some(3));
        assert_eq!(done.stdout.len(), 300_000);
    }

    #[test]
    fn arguments_reach_the_child() {
        let dir = tempfile::tempdir().unwrap();
        let tool = script(dir.path(), "echo-args", "echo \"$@\"");
        let args = ["-a".to_string(), "--json=c".to_string()];
        let done = run_with_timeout(&tool, &args, Duration::from_secs(10)).unwrap();
        assert_eq!(done.stdout, "-a --json=c\n");
    }

    #[test]
    fn missing_program_is_none() {
        let missing = Path::new("/nonexistent/smartctl");
        assert_eq!(run_with_timeout(missing, &[], Duration::from_secs(1)), None);
        assert!(!run_streaming(
            missing,
            &[],
            Duration::from_secs(1),
            &never,
            &mut |_, _| {}
        ));
    }

    #[test]
    fn timeout_kills_and_reaps_the_child() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("pids");
        let tool = script(
            dir.path(),
            "hang",
            &format!("echo $$ >> {}\nexec sleep 60", log.display()),
        );
        let started = Instant::now();
        assert_eq!(run_with_timeout(&tool, &[], Duration::from_secs(1)), None);
        assert!(started.elapsed() < Duration::from_secs(10));
        let pids = pids(&log);
        assert_eq!(pids.len(), 1);
        assert!(process_gone(&pids[0]), "pid {} still there", pids[0]);
    }

    /// A child that stops printing (intel_gpu_top freezing) is killed after the silence limit.
    #[test]
    fn silent_child_is_restarted() {
        let dir = tempfile::tempdir().unwrap();
        let tool = script(dir.path(), "intel_gpu_top", "echo '['\nexec sleep 60");
        let started = Instant::now();
        let printed = run_streaming(
            &tool,
            &[],
            Duration::from_millis(700),
            &never,
            &mut |_, _| {},
        );
        assert!(printed);
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    /// Under supervision a silent child is started again, each run's first line is flagged, and
    /// on stop the last one is killed and reaped.
    #[test]
    fn supervised_child_restarts_and_stops_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("pids");
        let tool = script(
            dir.path(),
            "stream",
            &format!(
                "echo $$ >> {}\necho one\necho two\nexec sleep 60",
                log.display()
            ),
        );
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let policy = Supervision {
            silence_limit: Duration::from_millis(300),
            restart_wait: Duration::from_millis(50),
            max_silent_failures: 5,
        };
        let seen = lines.clone();
        let stopped = stop.clone();
        let handle = supervise(
            "test-child",
            tool,
            Vec::new(),
            policy,
            move || stopped.load(Ordering::Relaxed),
            move |line, first| seen.lock().unwrap().push((line.trim().to_string(), first)),
        )
        .unwrap();
        let started = Instant::now();
        while lines.lock().unwrap().len() < 4 && started.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(20));
        }
        stop.store(true, Ordering::Relaxed);
        handle.join().unwrap();
        let pids = pids(&log);
        assert!(pids.len() >= 2, "restarted: {pids:?}");
        assert!(pids.iter().all(|p| process_gone(p)), "{pids:?}");
        let lines = lines.lock().unwrap();
        assert_eq!(
            lines.get(..4),
            Some(
                &[
                    ("one".to_string(), true),
                    ("two".to_string(), false),
                    ("one".to_string(), true),
                    ("two".to_string(), false),
                ][..]
            )
        );
    }

    #[test]
    fn child_that_never_prints_is_given_up() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("pids");
        let tool = script(
            dir.path(),
            "broken",
            &format!("echo $$ >> {}\nexit 1", log.display()),
        );
        let policy = Supervision {
            silence_limit: Duration::from_secs(5),
            restart_wait: Duration::from_millis(10),
            max_silent_failures: 3,
        };
        let handle = supervise("test-child", tool, Vec::new(), policy, never, |_, _| {}).unwrap();
        handle.join().unwrap();
        assert_eq!(pids(&log).len(), 3);
    }

    #[test]
    fn sleep_ends_early_on_stop() {
        let started = Instant::now();
        assert!(!sleep_unless(Duration::from_secs(30), &|| true));
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(sleep_unless(Duration::from_millis(10), &never));
    }
}
