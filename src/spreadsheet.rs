//! Cells bound for a spreadsheet. A cell that starts like a formula would be
//! evaluated by Excel or WPS when a merchant opens an export (CSV injection),
//! so every text cell a person could have typed goes through [`defuse`].

use std::borrow::Cow;

/// Makes a cell that a spreadsheet would evaluate read as plain text.
pub fn defuse(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_defused_and_others_left_alone() {
        for cell in ["=1+1", "+86", "-3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(defuse(cell), format!("'{cell}"));
        }
        for cell in ["沪上咖啡", "a=b", "", "6222 0000"] {
            assert_eq!(defuse(cell), cell);
        }
    }
}
