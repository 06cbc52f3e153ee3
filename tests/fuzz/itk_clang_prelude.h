// Debian's ITK 5.2 generated its compiler-detection header for GCC alone
// ("#error Unsupported compiler" under clang), and ITK includes it by a
// quoted name, beside itself. The clang build (fuzzing, sanitizers) reads it
// first through this prelude as GCC 12 would — clang 14 has every C++17
// feature that GCC does — and ITK's own include then finds it done.
#pragma push_macro("__clang__")
#pragma push_macro("__GNUC__")
#pragma push_macro("__GNUC_MINOR__")
#undef __clang__
#undef __GNUC__
#undef __GNUC_MINOR__
#define __GNUC__ 12
#define __GNUC_MINOR__ 2
#include <itk_compiler_detection.h>
#pragma pop_macro("__GNUC_MINOR__")
#pragma pop_macro("__GNUC__")
#pragma pop_macro("__clang__")
