//! A child process driven line by line over its stdin/stdout (perl scripts that sleep until
//! told to act: unshare, setns, spin), for the freshness tests of the sampler's process table.

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};

use super::common::ChildGuard;

/// A child driven line by line: it prints `ready`, then acts on each line it is sent.
pub struct Scripted {
    pub child: ChildGuard,
    pub stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Scripted {
    pub fn spawn(command: &mut Command) -> Scripted {
        let mut child = ChildGuard::spawn(command.stdin(Stdio::piped()).stdout(Stdio::piped()));
        let stdin = child.0.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.0.stdout.take().expect("piped stdout"));
        let mut scripted = Scripted {
            child,
            stdin,
            stdout,
        };
        assert_eq!(scripted.line(), "ready");
        scripted
    }

    /// `perl -e SCRIPT`.
    pub fn perl(script: &str) -> Scripted {
        Scripted::spawn(Command::new("perl").args(["-e", script]))
    }

    pub fn pid(&self) -> i32 {
        self.child.pid()
    }

    pub fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("child's stdout");
        line.trim_end().to_string()
    }

    /// Sends `text` and returns the child's answer line.
    pub fn ask(&mut self, text: &str) -> String {
        writeln!(self.stdin, "{text}").expect("child's stdin");
        self.stdin.flush().expect("child's stdin");
        self.line()
    }
}

/// Waits for a line, unshares the UTS namespace (no exec), says `done`, waits again.
pub const UNSHARE_UTS: &str = r#"$| = 1; print "ready\n"; <STDIN>;
syscall(272, 0x04000000) == 0 or die "unshare: $!"; print "done\n"; <STDIN>;"#;

/// Waits for a path, joins the namespace that nsfs file is (setns, no exec), says `done`.
pub const SETNS: &str = r#"$| = 1; print "ready\n"; my $path = <STDIN>; chomp $path;
open(my $fh, "<", $path) or die "open $path: $!";
syscall(308, fileno($fh), 0) == 0 or die "setns: $!"; print "done\n"; <STDIN>;"#;

/// Waits for a line, spins ~0.3 s of CPU, says `done`, waits again.
pub const SPIN: &str = r#"$| = 1; print "ready\n"; <STDIN>;
my $end = times() + 0.3; while (times() < $end) {} print "done\n"; <STDIN>;"#;

/// A process of two threads: the second waits for a line, spins ~0.3 s of CPU, says `done` and
/// waits again, while the main thread sleeps in `join` (it never runs).
pub const THREAD_SPIN: &str = r#"use threads; $| = 1;
my $t = threads->create(sub { <STDIN>; my $end = times() + 0.3; while (times() < $end) {}
print "done\n"; <STDIN>; });
print "ready\n"; $t->join();"#;

/// The inode of `pid`'s namespace of `kind`, from the kernel.
pub fn kernel_ns(pid: i32, kind: &str) -> u64 {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).expect("ns link");
    let text = link.to_string_lossy();
    let digits = text
        .trim_start_matches(|c: char| !c.is_ascii_digit())
        .trim_end_matches(']');
    digits.parse().expect("ns inode")
}
