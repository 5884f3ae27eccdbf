//! Typed errors carrying where in the user's files they come from.
//!
//! Rendered the way ansible-core 2.19 prints them: an `[ERROR]:` line, then
//! `Origin: file:line:col`, then the source line with a caret under the column.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A position in a source file: 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Origin {
    pub file: Arc<str>,
    pub line: usize,
    pub col: usize,
}

impl Origin {
    pub fn new(file: impl Into<Arc<str>>, line: usize, col: usize) -> Origin {
        Origin {
            file: file.into(),
            line,
            col,
        }
    }

    /// `Origin: file:line:col`, then a blank line and the excerpt when the file can be
    /// read: how Ansible 2.19 ends every error and warning block that points at a place.
    pub fn located(&self) -> String {
        match self.excerpt() {
            Some(ex) => format!("Origin: {self}\n\n{ex}"),
            None => format!("Origin: {self}"),
        }
    }

    /// The source line of this origin with a caret under the column, if the file can be read.
    pub fn excerpt(&self) -> Option<String> {
        let text = std::fs::read_to_string(&*self.file).ok()?;
        let lines: Vec<&str> = text.lines().collect();
        let idx = self.line.checked_sub(1)?;
        lines.get(idx)?;
        let first = idx.saturating_sub(2);
        let width = self.line.to_string().len();
        let mut out = String::new();
        for (i, line) in lines.iter().enumerate().take(idx + 1).skip(first) {
            // A blank source line is just its number, as Ansible prints it.
            let numbered = format!("{:>width$} {line}", i + 1);
            out.push_str(numbered.trim_end());
            out.push('\n');
        }
        out.push_str(&format!(
            "{} ^ column {}",
            " ".repeat(width + self.col.saturating_sub(1)),
            self.col
        ));
        Some(out)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// What went wrong, which decides the exit code (ansible-playbook 2.19's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// YAML that does not parse, a wrong keyword or argument: exit 4.
    Parse,
    /// A playbook file that does not exist: exit 1.
    FileNotFound,
    /// A bad command-line option: exit 2.
    Cli,
    /// Options that parse but do not make sense together (`AnsibleOptionsError`): exit 5.
    Options,
    /// A template error outside of any task: exit 1.
    Template,
    /// Anything else that stops the run: exit 1.
    Other,
}

#[derive(Clone, Debug)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub origin: Option<Origin>,
    /// What the user can do about it.
    pub help: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            origin: None,
            help: None,
        }
    }
    pub fn parse(message: impl Into<String>, origin: Option<Origin>) -> Error {
        Error {
            origin,
            ..Error::new(ErrorKind::Parse, message)
        }
    }
    pub fn other(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Other, message)
    }
    pub fn cli(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Cli, message)
    }
    pub fn options(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Options, message)
    }
    pub fn io(path: impl Into<PathBuf>, err: std::io::Error) -> Error {
        let path = path.into();
        let kind = if err.kind() == std::io::ErrorKind::NotFound {
            ErrorKind::FileNotFound
        } else {
            ErrorKind::Other
        };
        Error::new(kind, format!("Could not read '{}': {err}", path.display()))
    }
    pub fn at(mut self, origin: Option<&Origin>) -> Error {
        if self.origin.is_none() {
            self.origin = origin.cloned();
        }
        self
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Error {
        self.help = Some(help.into());
        self
    }
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            ErrorKind::Parse => 4,
            ErrorKind::FileNotFound => 1,
            ErrorKind::Cli => 2,
            ErrorKind::Options => 5,
            ErrorKind::Template | ErrorKind::Other => 1,
        }
    }
    /// The full report: message, origin, excerpt and help.
    pub fn report(&self) -> String {
        let mut out = format!("[ERROR]: {}\n", self.message);
        if let Some(origin) = &self.origin {
            out.push_str(&format!("Origin: {origin}\n"));
            if let Some(ex) = origin.excerpt() {
                out.push('\n');
                out.push_str(&ex);
                out.push('\n');
            }
        }
        if let Some(help) = &self.help {
            out.push_str(&format!("\n{help}\n"));
        }
        out
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(o) = &self.origin {
            write!(f, "\nOrigin: {o}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
