# Turns SQL files into one C file: const struct mdw_sql_file mdw_sql_files[] = {{"target/001_x.sql", "..."}, ...}.
function(mdw_embed_sql out files)
  string(REPLACE ";" "|" files_arg "${files}")
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DSRC=${CMAKE_SOURCE_DIR}/sql -DFILES=${files_arg}
            -P ${CMAKE_SOURCE_DIR}/cmake/embed_sql_run.cmake
    DEPENDS ${files} ${CMAKE_SOURCE_DIR}/cmake/embed_sql_run.cmake
    COMMENT "Embedding SQL files"
    VERBATIM)
endfunction()
