#include "cli/app.h"

int main(int argc, char** argv) { return maca::cli::run(argc, argv); }
