//! `[[server]]`: the address (`ssh://`, `unix://`, `local`) and the keys
//! that only an ssh server takes.

use std::path::PathBuf;

use super::super::load::Entry;
use super::super::model::{Address, DEFAULT_DOCKER_SOCKET, Server};
use super::super::raw::RawServer;
use crate::diag::Diagnostic;

/// The keys that apply to `ssh://` servers only.
const SSH_ONLY: [&str; 3] = ["docker_socket", "identity_file", "known_hosts_file"];

pub(super) fn server(e: &Entry<RawServer>, errors: &mut Vec<Diagnostic>) -> Option<Server> {
    let r = &e.raw;
    let address = match parse_address(&r.address) {
        Ok(a) => a,
        Err(why) => {
            errors.push(
                Diagnostic::new(
                    format!("invalid server address `{}`: {why}", r.address),
                    e.loc("address"),
                )
                .label("invalid address")
                .help("use `ssh://user@host:port`, `unix:///path/to/docker.sock` or `local`"),
            );
            return None;
        }
    };
    let address = match address {
        ParsedAddress::Ssh { user, host, port } => Address::Ssh {
            user,
            host,
            port,
            docker_socket: r
                .docker_socket
                .clone()
                .unwrap_or_else(|| DEFAULT_DOCKER_SOCKET.to_string()),
            identity_file: r.identity_file.clone(),
            known_hosts_file: r.known_hosts_file.clone(),
        },
        ParsedAddress::Unix(p) => {
            ssh_only_keys(e, errors);
            Address::Unix(p)
        }
        ParsedAddress::Local => {
            ssh_only_keys(e, errors);
            Address::Local
        }
    };
    let tags = tags(e, errors);
    Some(Server {
        name: r.name.clone(),
        address,
        tags,
        at: e.loc("name"),
    })
}

/// `tags`: names without spaces, control characters, `*` or `:` (so that
/// `tag:NAME` reads one way), each once.
fn tags(e: &Entry<RawServer>, errors: &mut Vec<Diagnostic>) -> Vec<String> {
    let Some(tags) = &e.raw.tags else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let bad = if tag.trim().is_empty() {
            Some("a tag is empty")
        } else if tag.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '*' | ':' | ',' | '?' | '[' | ']')
        }) {
            Some("a tag is one word: no spaces, `*`, `?`, `[`, `]`, `:` or `,`")
        } else {
            None
        };
        if let Some(why) = bad {
            errors.push(
                Diagnostic::new(
                    format!("invalid tag `{}`", tag.escape_default()),
                    e.loc("tags"),
                )
                .label("invalid tag")
                .help(format!("{why}; e.g. `tags = [\"eu\", \"web\"]`")),
            );
        } else if out.contains(tag) {
            errors.push(
                Diagnostic::new(
                    format!("tag `{tag}` is listed twice for server `{}`", e.raw.name),
                    e.loc("tags"),
                )
                .label("duplicate tag")
                .help("list each tag once"),
            );
        } else {
            out.push(tag.clone());
        }
    }
    out
}

/// Each ssh-only key written for a server that is not `ssh://`.
fn ssh_only_keys(e: &Entry<RawServer>, errors: &mut Vec<Diagnostic>) {
    for key in SSH_ONLY {
        if let Some(at) = e.fields.get(key) {
            errors.push(
                Diagnostic::new(
                    format!("`{key}` applies to ssh:// servers only"),
                    at.clone(),
                )
                .label("ignored for this address")
                .help(format!("remove `{key}`, or use an `ssh://` address")),
            );
        }
    }
}

enum ParsedAddress {
    Local,
    Unix(PathBuf),
    Ssh {
        user: Option<String>,
        host: String,
        port: Option<u16>,
    },
}

fn parse_address(s: &str) -> Result<ParsedAddress, String> {
    if s == "local" {
        return Ok(ParsedAddress::Local);
    }
    if let Some(path) = s.strip_prefix("unix://") {
        if !path.starts_with('/') {
            return Err(
                "a unix socket path must be absolute (`unix:///var/run/docker.sock`)".into(),
            );
        }
        return Ok(ParsedAddress::Unix(PathBuf::from(path)));
    }
    match s.strip_prefix("ssh://") {
        Some(rest) => parse_ssh(rest.trim_end_matches('/')),
        None => Err("not an ssh://, unix:// or local address".into()),
    }
}

/// `[user@]host[:port]`, the part of an ssh address after `ssh://`.
fn parse_ssh(rest: &str) -> Result<ParsedAddress, String> {
    if rest.contains('/') {
        return Err(
            "an ssh address has no path; set `docker_socket` for the socket on the server".into(),
        );
    }
    let (user, hostport) = match rest.rsplit_once('@') {
        Some((u, h)) if !u.is_empty() => (Some(u.to_string()), h),
        Some(_) => return Err("empty user before `@`".into()),
        None => (None, rest),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !hostport.ends_with(']') => {
            let port = p
                .parse::<u16>()
                .map_err(|_| format!("`{p}` is not a port number"))?;
            (h, Some(port))
        }
        _ => (hostport, None),
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    // ssh reads an argument starting with `-` as an option
    // (`-oProxyCommand=...` runs a command): never a host or a user.
    if host.trim_start_matches('[').starts_with('-') {
        return Err("a host cannot start with `-` (ssh would read it as an option)".into());
    }
    if user.as_deref().is_some_and(|u| u.starts_with('-')) {
        return Err("a user cannot start with `-` (ssh would read it as an option)".into());
    }
    Ok(ParsedAddress::Ssh {
        user,
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert!(matches!(parse_address("local"), Ok(ParsedAddress::Local)));
        assert!(matches!(
            parse_address("unix:///run/d.sock"),
            Ok(ParsedAddress::Unix(_))
        ));
        match parse_address("ssh://deploy@203.0.113.10:2222") {
            Ok(ParsedAddress::Ssh { user, host, port }) => {
                assert_eq!(user.as_deref(), Some("deploy"));
                assert_eq!(host, "203.0.113.10");
                assert_eq!(port, Some(2222));
            }
            _ => panic!("ssh address not parsed"),
        }
        assert!(parse_address("tcp://1.2.3.4:2375").is_err());
        assert!(parse_address("unix://relative.sock").is_err());
        assert!(parse_address("ssh://host:notaport").is_err());
        assert!(parse_address("ssh://-oProxyCommand=x").is_err());
        assert!(parse_address("ssh://-oProxyCommand=x@host").is_err());
        assert!(parse_address("ssh://[-oProxyCommand=x]").is_err());
    }
}
