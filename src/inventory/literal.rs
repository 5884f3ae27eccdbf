//! Python's `ast.literal_eval` as the INI inventory applies it to every value.
//!
//! Ansible tries `literal_eval` on each INI value and keeps the raw string when that fails,
//! so `x=23` is an int, `x=[1,2]` a list and `x=hello` a string. We parse the same subset of
//! Python expressions: numbers, strings (with prefixes, escapes and implicit concatenation),
//! `True`/`False`/`None`, lists, tuples, sets and dicts, unary signs, and complex numbers
//! (which Ansible turns back into their string form).

use serde_json::{Map, Number, Value};

/// The value of an INI inventory value: a Python literal, or the string itself.
pub fn parse_value(text: &str) -> Value {
    match literal_eval(text) {
        Some(v) => v,
        None => Value::String(text.to_string()),
    }
}

/// `ast.literal_eval(text)`, or `None` where Python would raise.
pub fn literal_eval(text: &str) -> Option<Value> {
    // literal_eval strips leading spaces and tabs itself.
    let text = text.trim_start_matches([' ', '\t']);
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
        depth: 0,
    };
    let expr = p.expr()?;
    p.skip_ws();
    if p.pos != p.chars.len() {
        return None;
    }
    Some(expr.into_value())
}

/// A parsed expression: numbers stay apart from other values so signs and `1+2j` work.
enum Lit {
    Int(i128),
    Float(f64),
    /// A complex number, kept as Python would print it.
    Complex(f64, f64),
    Other(Value),
}

impl Lit {
    fn into_value(self) -> Value {
        match self {
            Lit::Int(i) => int_value(i),
            Lit::Float(f) => float_value(f),
            Lit::Complex(re, im) => Value::String(complex_repr(re, im)),
            Lit::Other(v) => v,
        }
    }
}

fn int_value(i: i128) -> Value {
    if let Ok(v) = i64::try_from(i) {
        Value::from(v)
    } else if let Ok(v) = u64::try_from(i) {
        Value::from(v)
    } else {
        // Beyond JSON's integers: keep the digits rather than lose precision.
        Value::String(i.to_string())
    }
}

fn float_value(f: f64) -> Value {
    match Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None => Value::String(py_float_repr(f)),
    }
}

fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.into()
    } else if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

fn complex_part(f: f64) -> String {
    if f.fract() == 0.0 && f.is_finite() && f.abs() < 1e16 {
        format!("{}", f as i64)
    } else {
        py_float_repr(f)
    }
}

fn complex_repr(re: f64, im: f64) -> String {
    if re == 0.0 && re.is_sign_positive() {
        format!("{}j", complex_part(im))
    } else {
        let sign = if im < 0.0 || (im == 0.0 && im.is_sign_negative()) {
            "-"
        } else {
            "+"
        };
        format!("({}{sign}{}j)", complex_part(re), complex_part(im.abs()))
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// Nesting depth: inside brackets newlines are whitespace.
    depth: usize,
}

const MAX_DEPTH: usize = 100;

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, off: usize) -> Option<char> {
        self.chars.get(self.pos + off).copied()
    }

    /// Skips blanks and a `#` comment (Python allows one at the end of the expression).
    fn skip_ws(&mut self) {
        loop {
            match self.peek() {
                Some(' ' | '\t' | '\x0c') => self.pos += 1,
                Some('\n' | '\r') if self.depth > 0 => self.pos += 1,
                Some('\\') if matches!(self.peek_at(1), Some('\n')) => self.pos += 2,
                Some('#') => {
                    while let Some(c) = self.peek() {
                        if c == '\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                    if self.depth == 0 {
                        return;
                    }
                }
                Some('\n') if self.depth == 0 && self.rest_is_blank() => {
                    self.pos = self.chars.len();
                }
                _ => return,
            }
        }
    }

    fn rest_is_blank(&self) -> bool {
        self.chars[self.pos..].iter().all(|c| c.is_whitespace())
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// An expression: a unary-signed term, optionally `+`/`-` a complex term (`1+2j`).
    fn expr(&mut self) -> Option<Lit> {
        let left = self.unary()?;
        self.skip_ws();
        let op = match self.peek() {
            Some(c @ ('+' | '-')) => c,
            _ => return Some(left),
        };
        // Python only accepts `real ± imaginary` here.
        let re = match left {
            Lit::Int(i) => i as f64,
            Lit::Float(f) => f,
            _ => return None,
        };
        self.pos += 1;
        let right = self.unary()?;
        let im = match right {
            Lit::Complex(0.0, im) => im,
            _ => return None,
        };
        let im = if op == '-' { -im } else { im };
        Some(Lit::Complex(re, im))
    }

    fn unary(&mut self) -> Option<Lit> {
        self.skip_ws();
        match self.peek() {
            Some('-') => {
                self.pos += 1;
                match self.unary()? {
                    Lit::Int(i) => Some(Lit::Int(-i)),
                    Lit::Float(f) => Some(Lit::Float(-f)),
                    Lit::Complex(re, im) => Some(Lit::Complex(-re, -im)),
                    Lit::Other(_) => None,
                }
            }
            Some('+') => {
                self.pos += 1;
                match self.unary()? {
                    Lit::Other(_) => None,
                    n => Some(n),
                }
            }
            _ => self.atom(),
        }
    }

    fn atom(&mut self) -> Option<Lit> {
        self.skip_ws();
        let c = self.peek()?;
        if c.is_ascii_digit() || (c == '.' && self.peek_at(1).is_some_and(|d| d.is_ascii_digit())) {
            return self.number();
        }
        if c == '[' || c == '(' || c == '{' {
            return self.container(c);
        }
        if c == '\'' || c == '"' {
            return self.strings();
        }
        if c.is_alphabetic() || c == '_' {
            let start = self.pos;
            while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                self.pos += 1;
            }
            let word: String = self.chars[start..self.pos].iter().collect();
            // A string prefix directly followed by a quote.
            if matches!(self.peek(), Some('\'' | '"')) {
                let lower = word.to_ascii_lowercase();
                if ["r", "u", "b", "br", "rb"].contains(&lower.as_str()) {
                    self.pos = start;
                    return self.strings();
                }
                return None;
            }
            return match word.as_str() {
                "True" => Some(Lit::Other(Value::Bool(true))),
                "False" => Some(Lit::Other(Value::Bool(false))),
                "None" => Some(Lit::Other(Value::Null)),
                // literal_eval's one call: the empty set (a list here, as Ansible's sets).
                "set" => {
                    if !self.eat('(') {
                        return None;
                    }
                    self.eat(')').then(|| Lit::Other(Value::Array(Vec::new())))
                }
                _ => None,
            };
        }
        if c == '.' && self.peek_at(1) == Some('.') && self.peek_at(2) == Some('.') {
            self.pos += 3;
            // Ansible maps the Ellipsis to the string "...".
            return Some(Lit::Other(Value::String("...".into())));
        }
        None
    }

    fn container(&mut self, open: char) -> Option<Lit> {
        if self.depth >= MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        self.pos += 1;
        let close = match open {
            '[' => ']',
            '(' => ')',
            _ => '}',
        };
        let result = if open == '{' {
            self.dict_or_set()
        } else {
            self.sequence(open, close)
        };
        self.depth -= 1;
        result
    }

    fn sequence(&mut self, open: char, close: char) -> Option<Lit> {
        let mut items = Vec::new();
        let mut saw_comma = false;
        loop {
            if self.eat(close) {
                break;
            }
            items.push(self.expr()?.into_value());
            if self.eat(',') {
                saw_comma = true;
                continue;
            }
            if self.eat(close) {
                break;
            }
            return None;
        }
        // `(x)` is just x; `(x,)` and `()` are tuples, which Ansible turns into lists.
        if open == '(' && items.len() == 1 && !saw_comma {
            return items.pop().map(Lit::Other);
        }
        Some(Lit::Other(Value::Array(items)))
    }

    fn dict_or_set(&mut self) -> Option<Lit> {
        let mut map = Map::new();
        let mut set: Vec<Value> = Vec::new();
        let mut is_set = false;
        loop {
            if self.eat('}') {
                break;
            }
            let key = self.expr()?.into_value();
            if !is_set && map.is_empty() && self.eat(':') {
                let v = self.expr()?.into_value();
                map.insert(key_string(&key)?, v);
            } else if !is_set && !map.is_empty() {
                if !self.eat(':') {
                    return None;
                }
                let v = self.expr()?.into_value();
                map.insert(key_string(&key)?, v);
            } else {
                is_set = true;
                if !set.contains(&key) {
                    set.push(key);
                }
            }
            if self.eat(',') {
                continue;
            }
            if self.eat('}') {
                break;
            }
            return None;
        }
        if is_set {
            Some(Lit::Other(Value::Array(set)))
        } else {
            Some(Lit::Other(Value::Object(map)))
        }
    }

    fn number(&mut self) -> Option<Lit> {
        if self.peek() == Some('0')
            && matches!(self.peek_at(1), Some('x' | 'X' | 'o' | 'O' | 'b' | 'B'))
        {
            let radix = match self.peek_at(1) {
                Some('x' | 'X') => 16,
                Some('o' | 'O') => 8,
                _ => 2,
            };
            self.pos += 2;
            let digits = self.take_digits(|c| c.is_digit(radix), true)?;
            return i128::from_str_radix(&digits, radix).ok().map(Lit::Int);
        }
        let int_part = if self.peek() == Some('.') {
            String::new()
        } else {
            self.take_digits(|c| c.is_ascii_digit(), false)?
        };
        let mut is_float = false;
        let mut text = int_part.clone();
        if self.peek() == Some('.') {
            is_float = true;
            self.pos += 1;
            text.push('.');
            if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                text.push_str(&self.take_digits(|c| c.is_ascii_digit(), false)?);
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let save = self.pos;
            self.pos += 1;
            let mut exp = String::from("e");
            if let Some(s @ ('+' | '-')) = self.peek() {
                exp.push(s);
                self.pos += 1;
            }
            if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                exp.push_str(&self.take_digits(|c| c.is_ascii_digit(), false)?);
                text.push_str(&exp);
                is_float = true;
            } else {
                self.pos = save;
                return None;
            }
        }
        if matches!(self.peek(), Some('j' | 'J')) {
            self.pos += 1;
            let im: f64 = text.parse().ok()?;
            return Some(Lit::Complex(0.0, im));
        }
        // Identifiers glued to numbers (`1abc`) are a syntax error.
        if self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            return None;
        }
        if is_float {
            return text.parse::<f64>().ok().map(Lit::Float);
        }
        // Python 3 rejects leading zeros in decimal integers (`0755`), except for all zeros.
        if int_part.len() > 1 && int_part.starts_with('0') && int_part.chars().any(|c| c != '0') {
            return None;
        }
        int_part.parse::<i128>().ok().map(Lit::Int)
    }

    /// Digits with single underscores between them (`1_000`).
    fn take_digits(
        &mut self,
        ok: impl Fn(char) -> bool,
        allow_leading_underscore: bool,
    ) -> Option<String> {
        let mut out = String::new();
        let mut last_underscore = false;
        while let Some(c) = self.peek() {
            if ok(c) {
                out.push(c);
                last_underscore = false;
            } else if c == '_' && !last_underscore && (!out.is_empty() || allow_leading_underscore)
            {
                last_underscore = true;
            } else {
                break;
            }
            self.pos += 1;
        }
        if out.is_empty() || last_underscore {
            return None;
        }
        Some(out)
    }

    /// One or more adjacent string literals, concatenated.
    fn strings(&mut self) -> Option<Lit> {
        let mut out = String::new();
        let mut bytes_kind: Option<bool> = None;
        loop {
            self.skip_ws();
            let save = self.pos;
            let mut raw = false;
            let mut is_bytes = false;
            while let Some(c) = self.peek() {
                match c.to_ascii_lowercase() {
                    'r' => raw = true,
                    'b' => is_bytes = true,
                    'u' => {}
                    _ => break,
                }
                self.pos += 1;
            }
            let Some(q @ ('\'' | '"')) = self.peek() else {
                self.pos = save;
                break;
            };
            // Python refuses to concatenate bytes and str.
            if bytes_kind.is_some_and(|b| b != is_bytes) {
                return None;
            }
            bytes_kind = Some(is_bytes);
            out.push_str(&self.string_body(q, raw)?);
        }
        // No string literal at all.
        bytes_kind?;
        Some(Lit::Other(Value::String(out)))
    }

    fn string_body(&mut self, q: char, raw: bool) -> Option<String> {
        let triple = self.peek_at(1) == Some(q) && self.peek_at(2) == Some(q);
        self.pos += if triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let c = self.peek()?;
            if c == q {
                if !triple {
                    self.pos += 1;
                    return Some(out);
                }
                if self.peek_at(1) == Some(q) && self.peek_at(2) == Some(q) {
                    self.pos += 3;
                    return Some(out);
                }
                out.push(c);
                self.pos += 1;
                continue;
            }
            if c == '\n' && !triple {
                return None;
            }
            if c == '\\' {
                let n = self.peek_at(1)?;
                if raw {
                    out.push('\\');
                    out.push(n);
                    self.pos += 2;
                    continue;
                }
                self.pos += 2;
                match n {
                    '\n' => {}
                    '\\' => out.push('\\'),
                    '\'' => out.push('\''),
                    '"' => out.push('"'),
                    'a' => out.push('\x07'),
                    'b' => out.push('\x08'),
                    'f' => out.push('\x0c'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'v' => out.push('\x0b'),
                    '0'..='7' => {
                        let mut v = n.to_digit(8)?;
                        for _ in 0..2 {
                            match self.peek().and_then(|c| c.to_digit(8)) {
                                Some(d) => {
                                    v = v * 8 + d;
                                    self.pos += 1;
                                }
                                None => break,
                            }
                        }
                        out.push(char::from_u32(v)?);
                    }
                    'x' => out.push(self.hex_escape(2)?),
                    'u' => out.push(self.hex_escape(4)?),
                    'U' => out.push(self.hex_escape(8)?),
                    other => {
                        // Unknown escapes keep the backslash, as in Python.
                        out.push('\\');
                        out.push(other);
                    }
                }
                continue;
            }
            out.push(c);
            self.pos += 1;
        }
    }

    fn hex_escape(&mut self, len: usize) -> Option<char> {
        let digits: String = self.chars.get(self.pos..self.pos + len)?.iter().collect();
        if !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        self.pos += len;
        char::from_u32(u32::from_str_radix(&digits, 16).ok()?)
    }
}

/// Dict keys become strings, the way they show up in Ansible's variables.
fn key_string(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.into()),
        Value::Null => Some("None".into()),
        Value::Number(n) => Some(n.to_string()),
        // Lists and dicts are unhashable in Python.
        Value::Array(_) | Value::Object(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars() {
        assert_eq!(parse_value("23"), json!(23));
        assert_eq!(parse_value("-23"), json!(-23));
        assert_eq!(parse_value("1.5"), json!(1.5));
        assert_eq!(parse_value("1e3"), json!(1000.0));
        assert_eq!(parse_value("0x1f"), json!(31));
        assert_eq!(parse_value("1_000"), json!(1000));
        assert_eq!(parse_value("True"), json!(true));
        assert_eq!(parse_value("False"), json!(false));
        assert_eq!(parse_value("None"), json!(null));
        assert_eq!(parse_value("true"), json!("true"));
        assert_eq!(parse_value("yes"), json!("yes"));
        assert_eq!(parse_value("0755"), json!("0755"));
        assert_eq!(parse_value("000"), json!(0));
        assert_eq!(parse_value("1.2.3.4"), json!("1.2.3.4"));
        assert_eq!(parse_value("hello world"), json!("hello world"));
        assert_eq!(parse_value("1abc"), json!("1abc"));
        assert_eq!(parse_value(""), json!(""));
    }

    #[test]
    fn strings() {
        assert_eq!(parse_value("'quoted'"), json!("quoted"));
        assert_eq!(parse_value("\"a\\tb\""), json!("a\tb"));
        assert_eq!(parse_value("'a' 'b'"), json!("ab"));
        assert_eq!(parse_value("r'a\\n'"), json!("a\\n"));
        assert_eq!(parse_value("'unterminated"), json!("'unterminated"));
        assert_eq!(parse_value("'x' y"), json!("'x' y"));
    }

    #[test]
    fn containers() {
        assert_eq!(parse_value("[1, 2]"), json!([1, 2]));
        assert_eq!(parse_value("[1, 'a', [True]]"), json!([1, "a", [true]]));
        assert_eq!(parse_value("(1, 2)"), json!([1, 2]));
        assert_eq!(parse_value("(1)"), json!(1));
        assert_eq!(parse_value("{'a': 1, 'b': [2]}"), json!({"a": 1, "b": [2]}));
        assert_eq!(parse_value("{}"), json!({}));
        assert_eq!(parse_value("{1, 2, 2}"), json!([1, 2]));
        assert_eq!(parse_value("[1, 2,]"), json!([1, 2]));
        assert_eq!(parse_value("[1, 2"), json!("[1, 2"));
        assert_eq!(parse_value("{'a': x}"), json!("{'a': x}"));
    }

    #[test]
    fn comments_and_odd_forms() {
        assert_eq!(parse_value("1 # comment"), json!(1));
        assert_eq!(parse_value("  5"), json!(5));
        assert_eq!(parse_value("1j"), json!("1j"));
        assert_eq!(parse_value("1+2j"), json!("(1+2j)"));
        assert_eq!(parse_value("..."), json!("..."));
        assert_eq!(parse_value("set()"), json!([]));
        assert_eq!(parse_value("[set( ), 1]"), json!([[], 1]));
        assert_eq!(parse_value("set(1)"), json!("set(1)"));
        assert_eq!(parse_value("1 + 2"), json!("1 + 2"));
    }
}
