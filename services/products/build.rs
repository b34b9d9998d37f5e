// Links the binary as a position-dependent executable: see ../no_pie.rs.
include!("../no_pie.rs");
