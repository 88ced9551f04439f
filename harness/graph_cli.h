/* graph_cli.h: `rnnbench graph` (see graph_cli.c). */
#ifndef RNNBENCH_GRAPH_CLI_H
#define RNNBENCH_GRAPH_CLI_H
int cmd_graph(int argc, char **argv);
#endif
