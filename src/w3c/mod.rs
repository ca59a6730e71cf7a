//! The W3C Web Annotation Data Model: how Glossa annotations read and write as JSON-LD.
//!
//! Glossa's own fields (kind, verdict, status, …) travel as extension terms defined in an
//! inline context next to the W3C one, so standard consumers see a valid Web Annotation and
//! Glossa clients lose nothing. This module knows no HTTP; it is given the base IRI.

mod parse;
mod render;

pub use parse::{parse_annotation, ParseError};
pub use render::{Page, Renderer, ANNO_CONTEXT, LDP_CONTEXT};
