/* tier/access.c - placeholder until written */
