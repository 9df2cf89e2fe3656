//! Plain text tables: a header row and aligned columns, long cells cut short.

/// The widest a cell is shown.
const MAX_CELL: usize = 48;

fn cut(cell: &str) -> String {
    let one_line: String = cell
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() > MAX_CELL {
        let mut s: String = one_line.chars().take(MAX_CELL - 1).collect();
        s.push('…');
        s
    } else {
        one_line
    }
}

/// The table of `rows` under `header`, or `empty` when there are no rows.
pub fn render(header: &[&str], rows: &[Vec<String>], empty: &str) -> String {
    if rows.is_empty() {
        return format!("{empty}\n");
    }
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| cut(c)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_and_long_cells_are_cut() {
        let rows = vec![
            vec!["bob".to_owned(), "locked".to_owned()],
            vec!["carol".to_owned(), "x".repeat(60)],
        ];
        let t = render(&["USER", "STATE"], &rows, "none");
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "USER   STATE");
        assert_eq!(lines[1], "bob    locked");
        assert!(lines[2].ends_with('…'));
        assert_eq!(lines[2].chars().count(), 7 + MAX_CELL);
        assert_eq!(render(&["A"], &[], "Nothing."), "Nothing.\n");
    }
}
