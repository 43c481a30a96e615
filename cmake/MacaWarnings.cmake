# Project-wide compile settings, applied through an interface target so that
# nothing leaks into third-party code.
add_library(maca_options INTERFACE)
target_compile_options(maca_options INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter>)
if(MACA_SANITIZE)
  target_compile_options(maca_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer)
  target_link_options(maca_options INTERFACE -fsanitize=address,undefined)
endif()
