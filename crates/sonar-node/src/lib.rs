//! Node-API binding (placeholder until the binding lands).
#![deny(clippy::all)]
