/* The program's version, set by the build. */
#ifndef AURIGA_VERSION_H
#define AURIGA_VERSION_H

#ifndef AURIGA_VERSION
#define AURIGA_VERSION "0.1.0-dev"
#endif

#endif
