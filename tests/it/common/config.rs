//! Config snippets: pieces of `berth.toml` that the tests join with `+`.
//!
//! Every table starts with a blank line, so that any snippet can follow any
//! other; [`settings`] (and so [`header`] and [`local_header`]) starts the
//! file.

/// `[settings]` with `owner`.
pub fn settings(owner: &str) -> String {
    format!("[settings]\nowner = \"{owner}\"\n")
}

/// A `[[server]]` called `name` at `address`.
pub fn server(name: &str, address: &str) -> String {
    format!(
        r#"
[[server]]
name = "{name}"
address = "{address}"
"#
    )
}

/// `[settings]` with `owner`, and one server `name` at `address`.
pub fn header(owner: &str, server_name: &str, address: &str) -> String {
    settings(owner) + &server(server_name, address)
}

/// `[settings]` with `owner` and the server `local` at address `local`.
pub fn local_header(owner: &str) -> String {
    header(owner, "local", "local")
}

/// A `[[destination]]` on `server` for `network`.
pub fn destination(name: &str, server: &str, network: &str) -> String {
    format!(
        r#"
[[destination]]
name = "{name}"
server = "{server}"
network = "{network}"
"#
    )
}

/// A `[[destination]]` on `server` for `network`, with a `subnet`.
pub fn destination_with_subnet(name: &str, server: &str, network: &str, subnet: &str) -> String {
    destination(name, server, network) + &format!("subnet = \"{subnet}\"\n")
}

/// The start of an `[[application]]`, `[[database]]` (`kind`) table: its
/// `name` and `destination`.
pub fn resource_head(kind: &str, name: &str, destination: &str) -> String {
    format!(
        r#"
[[{kind}]]
name = "{name}"
destination = "{destination}"
"#
    )
}

/// An `aliases = [...]` line.
pub fn aliases_line(aliases: &[&str]) -> String {
    let list: Vec<String> = aliases.iter().map(|a| format!("\"{a}\"")).collect();
    format!("aliases = [{}]\n", list.join(", "))
}

/// `[[application]]` or `[[database]]` (`kind`) selecting `container`, with
/// `aliases` when given (else berth's default, `[name]`).
pub fn resource(
    kind: &str,
    name: &str,
    destination: &str,
    container: &str,
    aliases: Option<&[&str]>,
) -> String {
    let mut text =
        resource_head(kind, name, destination) + &format!("container = \"{container}\"\n");
    if let Some(aliases) = aliases {
        text += &aliases_line(aliases);
    }
    text
}

/// An `[[application]]` selecting `container`, with berth's default aliases.
pub fn application(name: &str, destination: &str, container: &str) -> String {
    resource("application", name, destination, container, None)
}

/// A `[[service]]` (a compose project), with `clone_of` when given.
pub fn service(
    name: &str,
    destination: &str,
    project: &str,
    connect: bool,
    clone_of: Option<&str>,
) -> String {
    let mut text = format!(
        r#"
[[service]]
name = "{name}"
destination = "{destination}"
project = "{project}"
connect_to_predefined_networks = {connect}
"#
    );
    if let Some(source) = clone_of {
        text += &format!("clone_of = \"{source}\"\n");
    }
    text
}
