use clap::Parser;

fn main() -> std::process::ExitCode {
    alliance::cli::Cli::parse().run()
}
