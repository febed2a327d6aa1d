/* akt-sim: runs scenario files with the built-in workloads (`./dev sim`).
 * A program with workloads of its own calls akt_sim_main the same way. */
#include "akt/scenario.h"

int main(int argc, char **argv) { return akt_sim_main(argc, argv, NULL, 0); }
