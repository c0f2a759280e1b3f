//! The choices a plan is made with (`--allow-replace`,
//! `--no-image-transfer`, `--strict`); a saved plan records them.

/// Choices that change what the planner allows.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Let `replace_network` proceed while containers are attached: they are
    /// disconnected, the network recreated, and they are reconnected.
    pub allow_replace: bool,
    /// Block clones whose image would have to be streamed to another server.
    pub no_image_transfer: bool,
    /// `--strict`: a declared resource that matches nothing on its server
    /// is an error, not a warning (as `settings.strict` makes it).
    #[serde(default)]
    pub strict: bool,
}

impl Options {
    /// Every mode the planner has: default, `--allow-replace`,
    /// `--no-image-transfer` (what the property and fuzz tests plan in).
    pub const ALL: [Options; 3] = [
        Options {
            allow_replace: false,
            no_image_transfer: false,
            strict: false,
        },
        Options {
            allow_replace: true,
            no_image_transfer: false,
            strict: false,
        },
        Options {
            allow_replace: false,
            no_image_transfer: true,
            strict: false,
        },
    ];
}
