//! `yiqiu-play`: run Ansible playbooks (or, as `yiqiu-play adhoc`, one module ad hoc).

fn main() {
    std::process::exit(yiqiu_play::cli::main_with_args(
        std::env::args_os().collect(),
    ));
}
