/* kinds.h: the registry of cell kinds, one line each, in the order
   `rnnbench list cells` shows them. A kind `k` is the file cells/k.c, which
   defines `const CellOps k_ops` (docs/architecture.md, "Adding a cell"). */
CELL_KIND(rnn)
CELL_KIND(lstm)
CELL_KIND(gru)
CELL_KIND(indrnn)
CELL_KIND(janet)
CELL_KIND(mgu)
CELL_KIND(mut)
CELL_KIND(cwrnn)
CELL_KIND(dglstm)
CELL_KIND(graph)
