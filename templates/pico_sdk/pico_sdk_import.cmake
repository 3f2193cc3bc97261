# Finds the Raspberry Pi Pico SDK (PICO_SDK_PATH, from -D or the environment)
# and loads it; must be included before project().
if (DEFINED ENV{PICO_SDK_PATH} AND (NOT PICO_SDK_PATH))
  set(PICO_SDK_PATH $ENV{PICO_SDK_PATH})
endif ()
if (NOT PICO_SDK_PATH)
  message(FATAL_ERROR
    "PICO_SDK_PATH is not set: git clone --recurse-submodules https://github.com/raspberrypi/pico-sdk "
    "and export PICO_SDK_PATH=/path/to/pico-sdk")
endif ()
get_filename_component(PICO_SDK_PATH "${PICO_SDK_PATH}" REALPATH BASE_DIR "${CMAKE_BINARY_DIR}")
if (NOT EXISTS "${PICO_SDK_PATH}/pico_sdk_init.cmake")
  message(FATAL_ERROR "${PICO_SDK_PATH} is not a Pico SDK checkout (no pico_sdk_init.cmake)")
endif ()
set(PICO_SDK_PATH "${PICO_SDK_PATH}" CACHE PATH "Path to the Raspberry Pi Pico SDK" FORCE)
include("${PICO_SDK_PATH}/pico_sdk_init.cmake")
