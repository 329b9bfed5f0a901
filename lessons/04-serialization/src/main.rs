//! TODO(lesson 04): write the demo of the README's last step here. It encodes one link, compares
//! its size with JSON, explains every byte, and shows what happens to a field it does not know.

fn main() {
    // TODO(lesson 04): replace this with the demo (README, step 6).
    todo!("the demo of lesson 04: see the README's last step")
}
