//! `--tags` / `--skip-tags` selection, as Ansible decides it.

/// Which tasks run: Ansible's rules for `all`, `tagged`, `untagged`, `always` and `never`.
#[derive(Clone, Debug, Default)]
pub struct TagFilter {
    pub only: Vec<String>,
    pub skip: Vec<String>,
}

impl TagFilter {
    pub fn new(only: Vec<String>, skip: Vec<String>) -> TagFilter {
        TagFilter { only, skip }
    }

    /// Whether a task with `tags` should run.
    pub fn should_run(&self, tags: &[String]) -> bool {
        let has = |t: &str| tags.iter().any(|x| x == t);
        let only: Vec<&str> = if self.only.is_empty() {
            vec!["all"]
        } else {
            self.only.iter().map(String::as_str).collect()
        };
        let mut run = has("always") || (only.contains(&"all") && !has("never"));
        if !run {
            for t in &only {
                match *t {
                    "all" => {}
                    "tagged" => {
                        if !tags.is_empty() && !has("never") {
                            run = true
                        }
                    }
                    "untagged" => {
                        if tags.is_empty() {
                            run = true
                        }
                    }
                    name => {
                        if has(name) {
                            run = true
                        }
                    }
                }
            }
        }
        if run && !self.skip.is_empty() {
            for t in &self.skip {
                match t.as_str() {
                    "all" => {
                        if !has("always") || self.skip.iter().any(|s| s == "always") {
                            return false;
                        }
                    }
                    "tagged" => {
                        if !tags.is_empty() && !has("always") {
                            return false;
                        }
                    }
                    "untagged" => {
                        if tags.is_empty() {
                            return false;
                        }
                    }
                    name => {
                        if has(name) {
                            return false;
                        }
                    }
                }
            }
        }
        run
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn default_runs_all_but_never() {
        let f = TagFilter::default();
        assert!(f.should_run(&[]));
        assert!(f.should_run(&t(&["debug"])));
        assert!(!f.should_run(&t(&["never", "debug"])));
    }

    #[test]
    fn only_and_always() {
        let f = TagFilter::new(t(&["debug"]), vec![]);
        assert!(f.should_run(&t(&["debug"])));
        assert!(!f.should_run(&t(&["initialize"])));
        assert!(f.should_run(&t(&["always"])));
        assert!(!f.should_run(&[]));
        assert!(f.should_run(&t(&["never", "debug"])));
    }

    #[test]
    fn skip_and_special_words() {
        let f = TagFilter::new(vec![], t(&["debug"]));
        assert!(!f.should_run(&t(&["debug"])));
        assert!(f.should_run(&[]));
        let tagged = TagFilter::new(t(&["tagged"]), vec![]);
        assert!(tagged.should_run(&t(&["x"])));
        assert!(!tagged.should_run(&[]));
        let untagged = TagFilter::new(t(&["untagged"]), vec![]);
        assert!(untagged.should_run(&[]));
        assert!(!untagged.should_run(&t(&["x"])));
    }
}
