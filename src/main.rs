//! `yiqiu-play`: run Ansible playbooks (or, as `yiqiu-play adhoc`, one module ad hoc).

/// The run's own stack. Deep but legal inputs (nested blocks, long variable chains, nested
/// includes) recurse; their depth is capped with clear errors well before this is used up.
const STACK_BYTES: usize = 64 << 20;

fn main() {
    use yiqiu_play::connection::persist;
    let argv: Vec<String> = std::env::args().take(2).collect();
    if argv.get(1).map(String::as_str) == Some(persist::KEEPER_ARG) {
        let rest: Vec<String> = std::env::args().skip(2).collect();
        std::process::exit(persist::keeper::keeper_main(&rest));
    }
    persist::enable();
    yiqiu_play::cli::interrupt::install();
    let args = std::env::args_os().collect();
    let code = std::thread::Builder::new()
        .name("yiqiu-play".into())
        .stack_size(STACK_BYTES)
        .spawn(move || yiqiu_play::cli::main_with_args(args))
        .map(|h| h.join().unwrap_or(250))
        .unwrap_or_else(|e| {
            eprintln!("[ERROR]: could not start: {e}");
            250
        });
    std::process::exit(code);
}
