# Turns files into one C file: const struct mdw_sql_file VAR[] = {{"target/001_x.sql", "..."}, ...},
# paths relative to SRC. mdw_embed_sql: the SQL files (mdw_sql_files); the dashboard's bundle uses VAR mdw_web_files.
function(mdw_embed_files out src var files)
  string(REPLACE ";" "|" files_arg "${files}")
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DSRC=${src} -DVAR=${var} -DFILES=${files_arg}
            -P ${CMAKE_SOURCE_DIR}/cmake/embed_sql_run.cmake
    DEPENDS ${files} ${CMAKE_SOURCE_DIR}/cmake/embed_sql_run.cmake
    COMMENT "Embedding ${var}"
    VERBATIM)
endfunction()

function(mdw_embed_sql out files)
  mdw_embed_files(${out} ${CMAKE_SOURCE_DIR}/sql mdw_sql_files "${files}")
endfunction()
