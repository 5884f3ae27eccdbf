//! Whole-run output compared with what ansible-playbook 2.19 printed for the same playbook.

mod common;
use common::*;

fn normalize(text: &str) -> String {
    let re = regex::Regex::new(r#""(start|end|delta)": "[^"]*""#).expect("regex");
    re.replace_all(text, r#""$1": "-""#).into_owned()
}

fn check(name: &str) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/e2e");
    let playbook = std::fs::read_to_string(root.join(format!("{name}.yml"))).expect("playbook");
    let expected =
        std::fs::read_to_string(root.join(format!("{name}.ansible.out"))).expect("golden");
    let d = project(&[("site.yml", &playbook), ("hosts", LOCAL_INVENTORY)]);
    let r = run_in(d.path(), &["-i", "hosts", "site.yml"]);
    let path = d.path().join("site.yml").display().to_string();
    let got = normalize(&r.stdout.replace(&path, "{PLAYBOOK}"));
    let want = normalize(&expected);
    if got != want {
        let diff = similar::TextDiff::from_lines(&want, &got);
        panic!(
            "output differs from ansible-playbook's:\n{}",
            diff.unified_diff().header("ansible-playbook", "yiqiu-play")
        );
    }
}

#[test]
fn common_tasks_match_ansible_byte_for_byte() {
    check("g1");
}

#[test]
fn failures_rescue_and_ignored_errors_match_ansible() {
    check("g2");
}
