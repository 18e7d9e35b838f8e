//! Parsing and checking of derive input: attributes into an IR, with every error collected.

pub mod ast;
pub mod attr;
pub mod case;
pub mod check;
pub mod ctxt;
pub mod suggest;
pub mod symbol;
