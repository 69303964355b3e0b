# Script mode helper of embed_sql.cmake: writes OUT from FILES (paths under SRC).
set(body "/* Generated from sql/ by cmake/embed_sql_run.cmake. Do not edit. */\n#include \"mdw/sqlfiles.h\"\n\nconst struct mdw_sql_file mdw_sql_files[] = {\n")
string(REPLACE "|" ";" FILES "${FILES}")
foreach(f ${FILES})
  file(RELATIVE_PATH rel ${SRC} ${f})
  file(READ ${f} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" esc "${hex}")
  # split the literal every 2000 escapes to stay under compiler limits on line length
  string(REGEX REPLACE "((\\\\x[0-9a-f][0-9a-f]){1000})" "\\1\"\n\"" esc "${esc}")
  string(APPEND body "  {\"${rel}\",\n\"${esc}\"},\n")
endforeach()
string(APPEND body "  {0, 0}\n};\n")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
