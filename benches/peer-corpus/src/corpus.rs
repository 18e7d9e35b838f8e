//! The peer's acceptance cases, read at run time from its Go source: the files
//! `internal/migration_acceptance_tests/*_cases_test.go` of a pg-schema-diff checkout or bare
//! git directory, and in them every composite literal with a `name:` field (an
//! `acceptanceTestCase`).
//!
//! The parser knows only what those literals are made of: Go comments, raw (backtick) and
//! interpreted (double-quoted) strings, rune literals, identifiers and punctuation. A case's
//! fields are read by key: the strings of `oldSchemaDDL`, `newSchemaDDL`,
//! `expectedDBSchemaDDL` and `roles`; every other key is kept as the text of its value.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

/// Where the cases are, inside the peer's repository.
pub const CASES_DIR: &str = "internal/migration_acceptance_tests";

/// One acceptance case.
#[derive(Clone, Debug, Default)]
pub struct Case {
    /// The file it is in, without its directory.
    pub file: String,
    /// Its `name`.
    pub name: String,
    /// `oldSchemaDDL`: the statements database A is built from, one batch each.
    pub old_ddl: Vec<String>,
    /// `newSchemaDDL`, when the case has the field.
    pub new_ddl: Option<Vec<String>>,
    /// `expectedDBSchemaDDL`, when the case has the field: what the peer expects the migrated
    /// database to hold when that differs from `newSchemaDDL` (or when a case's new schema
    /// comes from elsewhere, a directory of SQL files).
    pub expected_ddl: Option<Vec<String>>,
    /// `roles`: roles the case needs on the server, each as SQL names it (an identifier, maybe
    /// double-quoted).
    pub roles: Vec<String>,
    /// Every other field, with the text of its value (`expectEmptyPlan: true`, `planOpts`...).
    pub other: Vec<(String, String)>,
}

impl Case {
    /// The DDL database B is built from: `newSchemaDDL`, or, for a case without one (its new
    /// schema is a directory of SQL files), `expectedDBSchemaDDL`.
    pub fn target_ddl(&self) -> &[String] {
        match (&self.new_ddl, &self.expected_ddl) {
            (Some(new), _) if !new.is_empty() => new,
            (_, Some(expected)) => expected,
            (Some(new), None) => new,
            (None, None) => &[],
        }
    }

    /// Every statement batch the case holds: old, new and expected.
    pub fn all_ddl(&self) -> impl Iterator<Item = &String> {
        self.old_ddl
            .iter()
            .chain(self.new_ddl.iter().flatten())
            .chain(self.expected_ddl.iter().flatten())
    }

    /// The roles' names on the server: a double-quoted identifier unquoted, another folded to
    /// lower case, as PostgreSQL reads them.
    pub fn role_names(&self) -> Vec<String> {
        self.roles.iter().map(|r| identifier_name(r)).collect()
    }
}

/// The name an SQL identifier stands for: `"evil""role"` is `evil"role`, `App_User` is
/// `app_user`.
pub fn identifier_name(sql: &str) -> String {
    let sql = sql.trim();
    match sql.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => sql.to_lowercase(),
    }
}

/// The case files of the peer at `path`, by name, with their text: from the work tree when
/// `path` holds `internal/migration_acceptance_tests`, else from `HEAD` of `path` taken as a
/// git directory (a bare clone or a `.git` directory).
pub fn read_files(path: &Path) -> Result<Vec<(String, String)>, Error> {
    let dir = path.join(CASES_DIR);
    let mut files = Vec::new();
    if dir.is_dir() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with("_cases_test.go") {
                files.push((name, std::fs::read_to_string(entry.path())?));
            }
        }
    } else {
        let git_dir = if path.join(".git").exists() {
            path.join(".git")
        } else {
            PathBuf::from(path)
        };
        let listing = git(
            &git_dir,
            &["ls-tree", "--name-only", "HEAD", &format!("{CASES_DIR}/")],
        )
        .map_err(|error| {
            format!(
                "{} is neither a pg-schema-diff checkout (no {CASES_DIR}) nor a git \
                     directory holding one: {error}",
                path.display()
            )
        })?;
        for full in listing.lines() {
            let name = full.rsplit('/').next().unwrap_or(full);
            if name.ends_with("_cases_test.go") {
                files.push((
                    name.to_string(),
                    git(&git_dir, &["show", &format!("HEAD:{full}")])?,
                ));
            }
        }
    }
    if files.is_empty() {
        return Err(format!("no {CASES_DIR}/*_cases_test.go under {}", path.display()).into());
    }
    files.sort();
    Ok(files)
}

/// `git --git-dir=<git_dir> <args>`'s standard output.
fn git(git_dir: &Path, args: &[&str]) -> Result<String, Error> {
    let output = Command::new("git")
        .arg(format!("--git-dir={}", git_dir.display()))
        .args(args)
        .output()
        .map_err(|error| format!("cannot run git: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// A Go token, as far as the case literals need one.
#[derive(Clone, Debug, PartialEq)]
enum Token {
    /// An identifier, a keyword or a number, dotted parts included (`diff.WithNoConcurrentIndexOps`).
    Word(String),
    /// A string literal's value.
    Str(String),
    /// Any other character outside literals and comments.
    Punct(char),
}

/// The tokens of Go source `src`, comments left out.
fn tokenize(src: &str) -> Result<Vec<Token>, Error> {
    let chars: Vec<char> = src.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if c == '`' {
            let end = chars[i + 1..]
                .iter()
                .position(|&c| c == '`')
                .ok_or("unterminated raw string")?;
            // A raw string's carriage returns are discarded (the Go specification).
            let value: String = chars[i + 1..i + 1 + end]
                .iter()
                .filter(|&&c| c != '\r')
                .collect();
            tokens.push(Token::Str(value));
            i += end + 2;
        } else if c == '"' || c == '\'' {
            let (value, next) = interpreted(&chars, i)?;
            if c == '"' {
                tokens.push(Token::Str(value));
            } else {
                tokens.push(Token::Word(format!("'{value}'")));
            }
            i = next;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            tokens.push(Token::Word(chars[start..i].iter().collect()));
        } else {
            tokens.push(Token::Punct(c));
            i += 1;
        }
    }
    Ok(tokens)
}

/// The value of the interpreted string (or rune) literal opening at `chars[start]`, and the
/// position after it.
fn interpreted(chars: &[char], start: usize) -> Result<(String, usize), Error> {
    let quote = chars[start];
    let mut value = String::new();
    let mut i = start + 1;
    loop {
        let c = *chars.get(i).ok_or("unterminated string")?;
        i += 1;
        if c == quote {
            return Ok((value, i));
        }
        if c == '\n' {
            return Err("newline in a string literal".into());
        }
        if c != '\\' {
            value.push(c);
            continue;
        }
        let e = *chars.get(i).ok_or("unterminated escape")?;
        i += 1;
        let hex = |i: usize, n: usize| -> Result<char, Error> {
            let digits: String = chars.get(i..i + n).ok_or("short escape")?.iter().collect();
            let code = u32::from_str_radix(&digits, 16)?;
            Ok(char::from_u32(code).ok_or("invalid escape")?)
        };
        match e {
            'n' => value.push('\n'),
            't' => value.push('\t'),
            'r' => value.push('\r'),
            'a' => value.push('\u{7}'),
            'b' => value.push('\u{8}'),
            'f' => value.push('\u{c}'),
            'v' => value.push('\u{b}'),
            '\\' | '"' | '\'' => value.push(e),
            'x' => {
                value.push(hex(i, 2)?);
                i += 2;
            }
            'u' => {
                value.push(hex(i, 4)?);
                i += 4;
            }
            'U' => {
                value.push(hex(i, 8)?);
                i += 8;
            }
            '0'..='7' => {
                let digits: String = chars
                    .get(i - 1..i + 2)
                    .ok_or("short escape")?
                    .iter()
                    .collect();
                value.push(char::from(u8::from_str_radix(&digits, 8)?));
                i += 2;
            }
            other => return Err(format!("unknown escape \\{other}").into()),
        }
    }
}

/// A `{ ... }` being read: its `key: value` fields, and strings not under a key (the elements
/// of a `[]string{...}`).
#[derive(Default)]
struct Frame {
    fields: Vec<Field>,
    /// Whether the last field is still being read (no `,` at this level since its key).
    open: bool,
    loose: Vec<String>,
}

/// One `key: value` of a composite literal.
struct Field {
    key: String,
    strings: Vec<String>,
    text: String,
}

/// The acceptance cases in the Go source `src` of the file `file`, in order.
pub fn parse_cases(file: &str, src: &str) -> Result<Vec<Case>, Error> {
    let tokens = tokenize(src).map_err(|error| format!("{file}: {error}"))?;
    let mut stack: Vec<Frame> = Vec::new();
    let mut cases = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Punct('{') => stack.push(Frame::default()),
            Token::Punct('}') => {
                let Some(frame) = stack.pop() else {
                    return Err(format!("{file}: unbalanced }}").into());
                };
                if let Some(case) = case_of(file, &frame) {
                    cases.push(case);
                } else if let Some(parent) = stack.last_mut() {
                    // A nested literal's strings belong to the field it is the value of.
                    let strings = frame
                        .loose
                        .into_iter()
                        .chain(frame.fields.into_iter().flat_map(|f| f.strings));
                    match parent.fields.last_mut().filter(|_| parent.open) {
                        Some(field) => {
                            field.strings.extend(strings);
                            field.text.push_str("{...}");
                        }
                        None => parent.loose.extend(strings),
                    }
                }
            }
            Token::Punct(',') => {
                if let Some(frame) = stack.last_mut() {
                    frame.open = false;
                }
            }
            Token::Word(word)
                if tokens.get(i + 1) == Some(&Token::Punct(':'))
                    && tokens.get(i + 2) != Some(&Token::Punct('='))
                    && stack.last().is_some_and(|f| !f.open) =>
            {
                let frame = stack.last_mut().expect("checked above");
                frame.fields.push(Field {
                    key: word.clone(),
                    strings: Vec::new(),
                    text: String::new(),
                });
                frame.open = true;
                i += 2;
                continue;
            }
            token => {
                if let Some(frame) = stack.last_mut() {
                    match (frame.fields.last_mut().filter(|_| frame.open), token) {
                        (Some(field), Token::Str(s)) => field.strings.push(s.clone()),
                        (Some(field), Token::Word(w)) => field.text.push_str(w),
                        (Some(field), Token::Punct(p)) => field.text.push(*p),
                        (None, Token::Str(s)) => frame.loose.push(s.clone()),
                        (None, _) => {}
                    }
                }
            }
        }
        i += 1;
    }
    Ok(cases)
}

/// The case a closed literal is, when it has a `name` field holding a string.
fn case_of(file: &str, frame: &Frame) -> Option<Case> {
    let name = frame.fields.iter().find(|f| f.key == "name")?;
    let name = name.strings.first()?.clone();
    let mut case = Case {
        file: file.to_string(),
        name,
        ..Case::default()
    };
    for field in &frame.fields {
        match field.key.as_str() {
            "name" => {}
            "oldSchemaDDL" => case.old_ddl = field.strings.clone(),
            "newSchemaDDL" => case.new_ddl = Some(field.strings.clone()),
            "expectedDBSchemaDDL" => case.expected_ddl = Some(field.strings.clone()),
            "roles" => case.roles = field.strings.clone(),
            other => case.other.push((other.to_string(), field.text.clone())),
        }
    }
    Some(case)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_case_literal() {
        let src = r#"
var cases = []acceptanceTestCase{
	{
		name: "Add \"x\"", // a comment: name: "not a case"
		roles: []string{`"evil""role"`, "app_user"},
		oldSchemaDDL: []string{
			`
            CREATE TABLE foobar(id INT);
			`,
		},
		newSchemaDDL: []string{
			"CREATE TABLE foobar(id INT, x TEXT);",
			`CREATE INDEX i ON foobar(x);`,
		},
		expectedHazardTypes: []diff.MigrationHazardType{diff.MigrationHazardTypeIndexBuild},
		planOpts: []diff.PlanOpt{diff.WithNoConcurrentIndexOps()},
		expectEmptyPlan: true,
	},
	{
		name: "second",
	},
}
func f() { tc := _tc; t.Run(tc.name, func() {}) }
"#;
        let cases = parse_cases("x_cases_test.go", src).unwrap();
        assert_eq!(cases.len(), 2);
        let c = &cases[0];
        assert_eq!(c.name, "Add \"x\"");
        assert_eq!(c.role_names(), ["evil\"role", "app_user"]);
        assert_eq!(c.old_ddl.len(), 1);
        assert_eq!(c.new_ddl.as_ref().unwrap().len(), 2);
        assert!(c.expected_ddl.is_none());
        assert!(c
            .other
            .iter()
            .any(|(k, v)| k == "expectEmptyPlan" && v == "true"));
        assert!(c
            .other
            .iter()
            .any(|(k, v)| k == "planOpts" && v.contains("[]diff.PlanOpt")));
        assert_eq!(cases[1].name, "second");
        assert!(cases[1].old_ddl.is_empty() && cases[1].target_ddl().is_empty());
    }
}
