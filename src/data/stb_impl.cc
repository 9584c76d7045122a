// data/stb_impl.cc — the one translation unit that compiles stb's image decoder (PNG and JPEG
// only), its resizer and its writer (the writer serves tests and tools that save sample images).
// Everything else in calib8 includes the stb headers without the implementation macros.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#include <stb/stb_image.h>

#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb/stb_image_resize.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
