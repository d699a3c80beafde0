//! `latchkey`: the command line. A thin layer over the library crates:
//! flags are parsed here, validated into their configs, and handed over.

/// `println!` that never panics: a server whose standard output was closed
/// (a pipe reader gone) must keep serving.
macro_rules! say {
    () => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout());
    }};
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod admin_api;
mod client_cmd;
mod connections;
mod db_cmd;
mod demo_api;
mod head_refusals;
mod keys_cmd;
mod logs_cmd;
mod managed_identity;
mod metrics_listener;
mod scenario_cmd;
mod serve;
mod store_args;
mod tls;
mod users_cmd;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "latchkey",
    version,
    about = "An OAuth 2.0 identity platform that gets errors right"
)]
struct Cli {
    /// Log format on standard error.
    #[arg(long, global = true, value_parser = ["text", "json"], default_value = "text")]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the authorization server.
    Serve(serve::ServeArgs),
    /// Run a demo web API protected by the resource middleware.
    DemoApi(demo_api::DemoApiArgs),
    /// Get a token: client credentials, password, or refresh.
    Token(client_cmd::TokenArgs),
    /// Sign in in the browser: authorization code with PKCE, loopback redirect.
    Login(client_cmd::LoginArgs),
    /// Call a secured API, acquiring a token and carrying out the error's action.
    Call(client_cmd::CallArgs),
    /// Error scenarios on a running server (its admin API).
    Scenario(scenario_cmd::ScenarioArgs),
    /// Users of a running server (its admin API): `users revoke-sessions`.
    Users(users_cmd::UsersArgs),
    /// The store: `db migrate`.
    Db(db_cmd::DbArgs),
    /// Signing keys: `keys rotate`, `keys list`.
    Keys(keys_cmd::KeysArgs),
    /// The sign-in log in the store, filtered (`--trace-id`, `--user`…).
    Logs(logs_cmd::LogsArgs),
}

fn main() -> std::process::ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    // Dropped at the end of main: flushes what is still queued.
    let _log_guard = init_logging(&cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("latchkey: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = match cli.command {
        Command::Serve(args) => runtime.block_on(serve::run(args)),
        Command::DemoApi(args) => runtime.block_on(demo_api::run(args)),
        Command::Token(args) => return runtime.block_on(client_cmd::token(args)),
        Command::Login(args) => return runtime.block_on(client_cmd::login(args)),
        Command::Call(args) => return runtime.block_on(client_cmd::call(args)),
        Command::Scenario(args) => return runtime.block_on(scenario_cmd::run(args)),
        Command::Users(args) => return runtime.block_on(users_cmd::run(args)),
        Command::Db(args) => runtime.block_on(db_cmd::run(args)),
        Command::Keys(args) => runtime.block_on(keys_cmd::run(args)),
        Command::Logs(args) => runtime.block_on(logs_cmd::run(args)),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("latchkey: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr through a background writer with a buffer, so a
/// request never waits on a write(2) and a burst of refused requests costs
/// one syscall per batch instead of one per line. Lines are never dropped:
/// under a flood the request threads wait for the writer.
fn init_logging(format: &str) -> tracing_appender::non_blocking::WorkerGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LATCHKEY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::BufWriter::new(std::io::stderr()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
    guard
}

/// Argon2id allocates 19 MiB per password check. glibc's malloc raises its
/// mmap threshold after the first such block is freed and then keeps later
/// ones in the heap, so the server would hold that memory for good. A fixed
/// threshold keeps large blocks in mmap, returned to the system when freed;
/// two arenas are plenty for a server with two workers per core.
/// Hands the heap left over from start-up (parsing a large directory file,
/// loading the store) back to the system: with 10^4 apps that is ~60 MB of
/// RSS a server would otherwise keep for nothing.
pub fn release_startup_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 512 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
