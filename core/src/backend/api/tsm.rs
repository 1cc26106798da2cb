//! Wire types of the TSM's order API (card opening and lifecycle management). Owned by the TSM
//! work; see the mock backend's `tsm` module.
