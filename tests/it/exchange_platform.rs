//! The platform portal's exchange pages: rates, overrides, flows, verification.
