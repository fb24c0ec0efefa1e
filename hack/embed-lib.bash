# Shared by the generators that embed files into the binary (embed-crds.sh, embed-ui.sh).

# embed_arrays PREFIX FILE...: a NUL-terminated `static const unsigned char PREFIX_<i>[]` for the
# bytes of each FILE, i counting from 0; the blob's length is then sizeof(PREFIX_<i>) - 1.
embed_arrays() {
	local prefix=$1 f i=0
	shift
	for f in "$@"; do
		echo "static const unsigned char ${prefix}_$i[] = {"
		od -An -v -tx1 "$f" | sed -e 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g' -e 's/^/\t/'
		echo "0x00 };"
		i=$((i + 1))
	done
}
