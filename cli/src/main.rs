//! `duet`: an HTTP/1.1 client for the command line, over duet-blocking and duet-async.
//! Run `duet --help` for the options, or `duet` alone for the demo.

fn main() -> std::process::ExitCode {
    duet_cli::main()
}
