// core/std_regex.h — <regex> for a file that constructs a std::regex; include it first.
// g++ 12 (13 and 14 too) with -fsanitize=address reports -Wmaybe-uninitialized inside libstdc++'s
// regex compiler for every std::regex it compiles (GCC bug 105616: a std::function moved out of a
// fully constructed _State; a false positive). The warning points into <functional> and <regex>
// themselves, so the only place a pragma can cover it is their first inclusion in the file,
// here, and it covers that one warning in those headers' text only, nothing of calib8's.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <functional>
#include <regex>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
