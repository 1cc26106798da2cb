//! uniffi's binding generator, built from the workspace's pinned uniffi version so the generated
//! code always matches the library (`scripts/gen-bindings.sh` runs it).

fn main() {
    uniffi::uniffi_bindgen_main()
}
