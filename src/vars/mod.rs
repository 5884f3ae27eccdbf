//! Variables: precedence and lazy templating.
