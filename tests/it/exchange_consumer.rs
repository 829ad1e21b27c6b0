//! The consumer portal's exchange page and real-name verification.
