//! A small argument parser: positionals, `--name value`, `--name=value`,
//! repeatable options and flags, with an error for anything unknown.

use std::collections::HashMap;

/// What a command accepts.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Options that take a value (without `--`).
    pub values: &'static [&'static str],
    /// Flags (without `--`).
    pub flags: &'static [&'static str],
}

/// Parsed arguments.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Args {
    /// Positional arguments, in order.
    pub positionals: Vec<String>,
    values: HashMap<String, Vec<String>>,
    flags: Vec<String>,
}

impl Args {
    /// Parses `raw` by `spec`.
    ///
    /// ```
    /// let spec = cli::args::Spec { values: &["header", "name"], flags: &["json"] };
    /// let raw = ["file.mp4", "--header", "A: 1", "--header=B: 2", "--json", "--name", "x"];
    /// let args = cli::args::Args::parse(raw.iter().map(|s| s.to_string()), spec)?;
    /// assert_eq!(args.positionals, ["file.mp4"]);
    /// assert_eq!(args.all("header"), ["A: 1", "B: 2"]);
    /// assert_eq!(args.value("name"), Some("x"));
    /// assert!(args.flag("json"));
    /// assert!(cli::args::Args::parse(["--nope".to_string()], spec).is_err());
    /// # Ok::<(), String>(())
    /// ```
    pub fn parse(raw: impl IntoIterator<Item = String>, spec: Spec) -> Result<Args, String> {
        let mut args = Args::default();
        let mut raw = raw.into_iter();
        let mut only_positionals = false;
        while let Some(arg) = raw.next() {
            if only_positionals || !arg.starts_with("--") || arg == "-" {
                args.positionals.push(arg);
                continue;
            }
            if arg == "--" {
                only_positionals = true;
                continue;
            }
            let body = &arg[2..];
            let (name, inline) = match body.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (body, None),
            };
            if spec.flags.contains(&name) {
                if inline.is_some() {
                    return Err(format!("--{name} takes no value"));
                }
                args.flags.push(name.to_owned());
            } else if spec.values.contains(&name) {
                let value = match inline {
                    Some(value) => value,
                    None => raw
                        .next()
                        .ok_or_else(|| format!("--{name} needs a value"))?,
                };
                args.values.entry(name.to_owned()).or_default().push(value);
            } else {
                return Err(format!("unknown option --{name}"));
            }
        }
        Ok(args)
    }

    /// The last value of `--name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .map(String::as_str)
    }

    /// Every value of `--name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.values
            .get(name)
            .map(|v| v.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// Whether `--name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    /// The only positional argument, or an error naming what is expected.
    pub fn single(&self, what: &str) -> Result<&str, String> {
        match self.positionals.as_slice() {
            [one] => Ok(one),
            [] => Err(format!("missing {what}")),
            more => Err(format!("expected one {what}, got {}", more.len())),
        }
    }
}
