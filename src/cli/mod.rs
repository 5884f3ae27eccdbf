//! Command-line layer.
