//! afl.rs target: `berthing::fuzz::saved_plan`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        berthing::fuzz::saved_plan(data);
    });
}
