set terminal pngcairo size 900,560 font 'sans,11' noenhanced
set output 'comm-study.png'
set title 'Bytes per device, 2D SUMMA / 1D column-row (two square N x N layers)'
set xlabel 'tokens / features (T/N)'; set ylabel '2D bytes / 1D bytes'
set logscale xy; set grid; set key top right
set xrange [1e-4:16]; set yrange [0.1:2000]
f(x, q) = (1 + 1/x) / (q + 1)
plot 1 with lines dt 2 lc 'black' title 'equal bytes', \
  for [i=0:2] 'comm-study.dat' index i using ($4==1 ? $2 : 1/0):3 with points pt 7 ps 1.2 lc i+1 title sprintf('P=%d measured (N=64)', 4**(i+1)), \
  for [i=0:2] 'comm-study.dat' index i using ($4==0 ? $2 : 1/0):3 with points pt 6 ps 1.5 lc i+1 title sprintf('P=%d plan (N=4096)', 4**(i+1)), \
  f(x, 2) lc 1 title '(1+N/T)/(q+1), q=2', f(x, 4) lc 2 title 'q=4', f(x, 8) lc 3 title 'q=8'
